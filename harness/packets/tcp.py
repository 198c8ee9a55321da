"""IPv4 + TCP headers (RFC 791, RFC 9293), pure: enough to follow one flow in a capture."""

from __future__ import annotations

import struct
from dataclasses import dataclass

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass(frozen=True)
class Segment:
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload_len: int

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)


def parse_ipv4_tcp(packet: bytes) -> Segment | None:
    """The TCP segment in an IPv4 packet, or None for anything else or a truncated packet."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 6:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total_len = struct.unpack_from(">H", packet, 2)[0]
    if ihl < 20 or len(packet) < ihl + 20:
        return None
    sport, dport, seq, ack, off_flags, window = struct.unpack_from(">HHIIHH", packet, ihl)
    data_off = (off_flags >> 12) * 4
    src = ".".join(str(b) for b in packet[12:16])
    dst = ".".join(str(b) for b in packet[16:20])
    payload_len = max(0, min(total_len, len(packet)) - ihl - data_off)
    return Segment(src, dst, sport, dport, seq, ack, off_flags & 0x3F, window, payload_len)


def tcp_packet(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int = 65535,
    payload: bytes = b"",
) -> bytes:
    """An IPv4/TCP packet (checksums zero): for tests of the parser."""
    tcp = (
        struct.pack(">HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, window, 0, 0) + payload
    )
    ip = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(tcp),
        0,
        0,
        64,
        6,
        0,
        bytes(int(x) for x in src.split(".")),
        bytes(int(x) for x in dst.split(".")),
    )
    return ip + tcp
