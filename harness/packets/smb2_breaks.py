"""The SMB2 oplock and lease breaks a server sent one client, from a capture of its flow, and
what became of each: whether the client's TCP acknowledged the break's bytes, whether and
when the client acknowledged the break itself, and when the server answered that. Pure.

On the wire ([MS-SMB2] 2.2.23, 2.2.24, 2.2.25): a break notification is an SMB2
OPLOCK_BREAK (command 0x12) from the server with MessageId 0xFFFFFFFFFFFFFFFF; an oplock
break carries the FileId (body offset 8), a lease break the LeaseKey (body offset 8). The
client's acknowledgement is an OPLOCK_BREAK request carrying the same FileId or LeaseKey;
the server answers it with an OPLOCK_BREAK response. Each message is framed by a 4-byte
NBT/direct-TCP header. A message is found where it starts inside a segment (a break is about
100 bytes: one segment); SMB1 oplock breaks (LOCKING_ANDX from the server) are not read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from harness.packets.smb2 import HEADER_BYTES, PROTOCOL_ID, SMB2_FLAGS_SERVER_TO_REDIR
from harness.packets.tcp import ACK, parse_ipv4_tcp

SMB2_OPLOCK_BREAK = 0x12
UNSOLICITED = 0xFFFFFFFFFFFFFFFF  # the MessageId of a break notification
LEASE_BREAK_SIZE = 44  # StructureSize of a lease break notification (an oplock break's: 24)
_HEADER = struct.Struct("<4sHHIHHIIQ")  # up to MessageId
OPLOCK_LEVELS = {0x00: "none", 0x01: "level II", 0x08: "exclusive", 0x09: "batch"}


@dataclass(frozen=True)
class Message:
    """One SMB2 OPLOCK_BREAK seen in the flow: who sent it, when (the capture's clock), the
    stream position just past its bytes, and its body."""

    t_s: float
    from_server: bool
    message_id: int
    end_seq: int
    body: bytes


def _messages(payload: bytes, seq: int, t_s: float, from_server: bool) -> Iterable[Message]:
    start = payload.find(PROTOCOL_ID)
    while start >= 4:
        at = start - 4
        length = int.from_bytes(payload[at + 1 : at + 4], "big")
        if payload[at] == 0 and len(payload) >= start + HEADER_BYTES:
            _p, _s, _c, _st, command, _cr, flags, _n, mid = _HEADER.unpack_from(payload, start)
            server_flag = bool(flags & SMB2_FLAGS_SERVER_TO_REDIR)
            if command == SMB2_OPLOCK_BREAK and server_flag == from_server:
                body = payload[start + HEADER_BYTES : start + length]
                yield Message(t_s, from_server, mid, (seq + start + length) & 0xFFFFFFFF, body)
        start = payload.find(PROTOCOL_ID, start + 4)


def _after(ack: int, seq: int) -> bool:
    """``ack`` covers ``seq`` (32-bit sequence space)."""
    return (ack - seq) & 0xFFFFFFFF < 0x80000000


def describe(body: bytes) -> dict:
    """What a break notification asked for: ``kind`` oplock (``to``: the level to break to) or
    lease (``from_state``/``to_state``: lease states as R/W/H letters), and its ``key`` (the
    FileId or LeaseKey, hex)."""
    if len(body) >= 2 and struct.unpack_from("<H", body)[0] == LEASE_BREAK_SIZE and len(body) >= 32:
        current, new = struct.unpack_from("<II", body, 24)
        return {
            "kind": "lease",
            "from_state": lease_letters(current),
            "to_state": lease_letters(new),
            "key": body[8:24].hex(),
        }
    level = body[2] if len(body) > 2 else 0
    return {"kind": "oplock", "to": OPLOCK_LEVELS.get(level, hex(level)), "key": body[8:24].hex()}


def lease_letters(state: int) -> str:
    """R, W, H for a lease state's read, write and handle caching bits; "none" for 0."""
    out = "".join(c for bit, c in ((1, "R"), (4, "W"), (2, "H")) if state & bit)
    return out or "none"


def breaks_to(packets: Iterable[tuple[float, bytes]], client: tuple[str, int]) -> list[dict]:
    """Every break notification the server sent ``client`` (address, port) in ``packets``
    ((time, IPv4 datagram), in capture order), once each, in the order sent:
    {sent_s, kind, ..., key, retransmits, tcp_acked_s, acked_s, answered_s} (None where it
    never happened)."""
    breaks: dict[int, dict] = {}  # by the stream position past the break's bytes
    for t_s, packet in packets:
        seg = parse_ipv4_tcp(packet)
        if seg is None:
            continue
        to_client = (seg.dst, seg.dport) == client
        if not to_client and (seg.src, seg.sport) != client:
            continue
        if not to_client and seg.has(ACK):
            for b in breaks.values():
                if b["tcp_acked_s"] is None and _after(seg.ack, b["_end_seq"]):
                    b["tcp_acked_s"] = t_s
        if seg.payload_len == 0:
            continue
        ihl = (packet[0] & 0x0F) * 4
        data_off = (packet[ihl + 12] >> 4) * 4
        payload = packet[ihl + data_off : ihl + data_off + seg.payload_len]
        for m in _messages(payload, seg.seq, t_s, from_server=to_client):
            key = m.body[8:24].hex()
            if to_client and m.message_id == UNSOLICITED:
                if m.end_seq in breaks:
                    breaks[m.end_seq]["retransmits"] += 1
                    continue
                breaks[m.end_seq] = {
                    "sent_s": t_s,
                    **describe(m.body),
                    "retransmits": 0,
                    "tcp_acked_s": None,
                    "acked_s": None,
                    "answered_s": None,
                    "_end_seq": m.end_seq,
                }
                continue
            field = "answered_s" if to_client else "acked_s"
            for b in breaks.values():
                if b["key"] == key and b[field] is None and b["sent_s"] <= t_s:
                    if field == "answered_s" and b["acked_s"] is None:
                        continue
                    b[field] = t_s
                    break
    out = sorted(breaks.values(), key=lambda b: b["sent_s"])
    return [{k: v for k, v in b.items() if k != "_end_seq"} for b in out]
