"""NetBIOS over TCP/IP packets (RFC 1001/1002), pure encode and decode.

Session service: RFC 1002 4.3 (header: type, flags, 17-bit length).
Name service node status (NBSTAT): RFC 1002 4.2.17 (request) and 4.2.18 (response).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# RFC 1002 4.3.1 session packet types
SESSION_MESSAGE = 0x00
SESSION_REQUEST = 0x81
POSITIVE_SESSION_RESPONSE = 0x82
NEGATIVE_SESSION_RESPONSE = 0x83
RETARGET_SESSION_RESPONSE = 0x84
SESSION_KEEP_ALIVE = 0x85

SESSION_HEADER_LEN = 4
MAX_SESSION_LENGTH = 0x1FFFF  # 17 bits: the E flag extends the 16-bit length

# RFC 1002 4.2.1.3 / 4.2.18
QTYPE_NBSTAT = 0x0021
QCLASS_IN = 0x0001
NAME_SERVICE_FLAGS_RESPONSE = 0x8000
MAX_NAME_POINTERS = 8  # compression pointers followed before a name is called a loop


class MalformedPacket(ValueError):
    """Bytes that do not parse as the packet they claim to be."""


def encode_name(name: str, suffix: int = 0x20, scope: str = "") -> bytes:
    """First-level encoding (RFC 1001 14.1) of a NetBIOS name, as a length-prefixed label.

    The name is upper-cased and space-padded to 15 characters; '*' is padded with NULs, as
    the wildcard query name of RFC 1002 4.2.17 requires.
    """
    if not 0 <= suffix <= 0xFF:
        raise ValueError(f"name suffix out of range: {suffix}")
    raw_name = name.upper().encode("ascii")
    if len(raw_name) > 15:
        raise ValueError(f"NetBIOS name longer than 15 characters: {name!r}")
    pad = b"\x00" if raw_name == b"*" else b" "
    raw = raw_name.ljust(15, pad) + bytes([suffix])
    half_ascii = bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0x0F)))
    out = bytes([32]) + half_ascii
    for label in filter(None, scope.split(".")):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def decode_name(data: bytes, offset: int = 0) -> tuple[str, int, int]:
    """Decode a first-level encoded name at offset; return (name, suffix, next_offset).

    Scope labels are skipped. Compression pointers (RFC 1002 4.1.1) are followed for the
    name but the returned offset is the one after the pointer.
    """
    try:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            # Follow the pointer without recursion: a pointer to itself (or a cycle) is
            # garbage from the wire and must end as MalformedPacket, not RecursionError.
            target = offset
            for _ in range(MAX_NAME_POINTERS):
                target = struct.unpack_from(">H", data, target)[0] & 0x3FFF
                if data[target] & 0xC0 != 0xC0:
                    name, suffix, _ = decode_name(data, target)
                    return name, suffix, offset + 2
            raise MalformedPacket("NetBIOS name pointers form a loop or a chain too long")
        if length != 32:
            raise MalformedPacket(f"encoded NetBIOS name has length {length}, expected 32")
        half = data[offset + 1 : offset + 33]
        if len(half) != 32 or any(not 0x41 <= c <= 0x50 for c in half):
            raise MalformedPacket("encoded NetBIOS name is not half-ASCII")
        raw = bytes(((half[i] - 0x41) << 4) | (half[i + 1] - 0x41) for i in range(0, 32, 2))
        pos = offset + 33
        while data[pos] != 0:  # scope labels
            pos += 1 + data[pos]
        return raw[:15].rstrip(b" \x00").decode("ascii", "replace"), raw[15], pos + 1
    except (IndexError, struct.error) as exc:
        raise MalformedPacket("truncated NetBIOS name") from exc


# --- session service -----------------------------------------------------------------------


def session_header(packet_type: int, length: int) -> bytes:
    """The 4-byte session header (RFC 1002 4.3.1)."""
    if not 0 <= length <= MAX_SESSION_LENGTH:
        raise ValueError(f"NBT session length out of range: {length}")
    return struct.pack(">BBH", packet_type, length >> 16, length & 0xFFFF)


def parse_session_header(header: bytes) -> tuple[int, int]:
    """Return (type, length) of a session header; reject unknown types and flags."""
    if len(header) != SESSION_HEADER_LEN:
        raise MalformedPacket(f"NBT session header needs 4 bytes, got {len(header)}")
    packet_type, flags, low = struct.unpack(">BBH", header)
    if packet_type not in (
        SESSION_MESSAGE,
        SESSION_REQUEST,
        POSITIVE_SESSION_RESPONSE,
        NEGATIVE_SESSION_RESPONSE,
        RETARGET_SESSION_RESPONSE,
        SESSION_KEEP_ALIVE,
    ):
        raise MalformedPacket(f"unknown NBT session packet type 0x{packet_type:02x}")
    if flags & 0xFE:
        raise MalformedPacket(f"reserved NBT session flags set: 0x{flags:02x}")
    return packet_type, ((flags & 1) << 16) | low


def session_request(called: str, calling: str) -> bytes:
    """SESSION REQUEST (RFC 1002 4.3.2): called name <20>, calling name <00>."""
    body = encode_name(called, 0x20) + encode_name(calling, 0x00)
    return session_header(SESSION_REQUEST, len(body)) + body


def session_message_header(payload_len: int) -> bytes:
    """Header of a SESSION MESSAGE carrying payload_len bytes (e.g. one SMB PDU)."""
    return session_header(SESSION_MESSAGE, payload_len)


NEGATIVE_RESPONSE_REASONS = {
    0x80: "not listening on called name",
    0x81: "not listening for calling name",
    0x82: "called name not present",
    0x83: "called name present, but insufficient resources",
    0x8F: "unspecified error",
}


# --- name service: node status ---------------------------------------------------------------


def node_status_request(transaction_id: int, name: str = "*", suffix: int = 0x00) -> bytes:
    """NODE STATUS REQUEST (RFC 1002 4.2.17), unicast, for name<suffix> (default '*<00>')."""
    header = struct.pack(">HHHHHH", transaction_id & 0xFFFF, 0x0000, 1, 0, 0, 0)
    return header + encode_name(name, suffix) + struct.pack(">HH", QTYPE_NBSTAT, QCLASS_IN)


@dataclass(frozen=True)
class NodeName:
    name: str
    suffix: int
    flags: int

    @property
    def is_group(self) -> bool:
        return bool(self.flags & 0x8000)


@dataclass(frozen=True)
class NodeStatus:
    transaction_id: int
    names: tuple[NodeName, ...]
    unit_id: bytes

    def server_name(self) -> str | None:
        """The unique name registered with the file-server suffix <20>, if any."""
        for n in self.names:
            if n.suffix == 0x20 and not n.is_group:
                return n.name
        return None


def printable_name(raw: bytes) -> str:
    """A name from the wire as text that is safe on a terminal: printable ASCII kept, every
    other byte (control characters, ESC of an escape sequence, DEL, 8-bit) shown as '?'."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in raw)


def parse_node_status_response(data: bytes) -> NodeStatus:
    """Parse a NODE STATUS RESPONSE (RFC 1002 4.2.18). Names come out printable (a remote
    server's answer reaches root's terminal: see printable_name)."""
    if len(data) < 12:
        raise MalformedPacket(f"name service packet too short: {len(data)} bytes")
    trn_id, flags, qd, an, _ns, _ar = struct.unpack_from(">HHHHHH", data, 0)
    if not flags & NAME_SERVICE_FLAGS_RESPONSE:
        raise MalformedPacket("name service packet is not a response")
    if an < 1:
        raise MalformedPacket("node status response has no answer record")
    pos = 12
    for _ in range(qd):  # a response normally carries no question; skip any
        _, _, pos = decode_name(data, pos)
        pos += 4
    _, _, pos = decode_name(data, pos)
    if len(data) < pos + 10:
        raise MalformedPacket("truncated node status resource record")
    rr_type, _rr_class, _ttl, rdlength = struct.unpack_from(">HHIH", data, pos)
    if rr_type != QTYPE_NBSTAT:
        raise MalformedPacket(f"answer record type 0x{rr_type:04x} is not NBSTAT")
    pos += 10
    rdata = data[pos : pos + rdlength]
    if len(rdata) != rdlength or rdlength < 1:
        raise MalformedPacket("truncated node status rdata")
    count = rdata[0]
    if len(rdata) < 1 + 18 * count:
        raise MalformedPacket(f"node status claims {count} names but rdata is {rdlength} bytes")
    names = []
    for i in range(count):
        entry = rdata[1 + 18 * i : 1 + 18 * (i + 1)]
        raw_name, suffix, name_flags = entry[:15], entry[15], struct.unpack(">H", entry[16:])[0]
        names.append(NodeName(printable_name(raw_name.rstrip(b" \x00")), suffix, name_flags))
    stats = rdata[1 + 18 * count :]
    return NodeStatus(trn_id, tuple(names), bytes(stats[:6]))


# --- name service: name query ------------------------------------------------------------------

QTYPE_NB = 0x0020  # RFC 1002 4.2.1.3: general name service resource record
NAME_QUERY_FLAGS_RD = 0x0100  # RFC 1002 4.2.1.1 NM_FLAGS: recursion desired (a unicast query)
NAME_SERVICE_OPCODE_MASK = 0x7800
NAME_SERVICE_RCODE_MASK = 0x000F
NAME_QUERY_RCODES = {
    1: "format error",
    2: "server failure",
    3: "name not found",
    4: "unsupported request",
    5: "refused",
    6: "active error",
    7: "name in conflict",
}


def name_query_request(transaction_id: int, name: str, suffix: int = 0x20) -> bytes:
    """NAME QUERY REQUEST (RFC 1002 4.2.12), unicast (RD set, B clear), for name<suffix>."""
    header = struct.pack(">HHHHHH", transaction_id & 0xFFFF, NAME_QUERY_FLAGS_RD, 1, 0, 0, 0)
    return header + encode_name(name, suffix) + struct.pack(">HH", QTYPE_NB, QCLASS_IN)


@dataclass(frozen=True)
class NameQueryAnswer:
    transaction_id: int
    rcode: int  # 0: a positive response (RFC 1002 4.2.13); else negative (4.2.14)
    name: str
    suffix: int
    addresses: tuple[str, ...]  # the NB_ADDRESS of each entry (dotted IPv4)


def parse_name_query_response(data: bytes) -> NameQueryAnswer:
    """Parse a POSITIVE or NEGATIVE NAME QUERY RESPONSE (RFC 1002 4.2.13, 4.2.14)."""
    if len(data) < 12:
        raise MalformedPacket(f"name service packet too short: {len(data)} bytes")
    trn_id, flags, qd, an, _ns, _ar = struct.unpack_from(">HHHHHH", data, 0)
    if not flags & NAME_SERVICE_FLAGS_RESPONSE:
        raise MalformedPacket("name service packet is not a response")
    if flags & NAME_SERVICE_OPCODE_MASK:
        raise MalformedPacket(f"name service response opcode {(flags >> 11) & 0xF} is not a query")
    rcode = flags & NAME_SERVICE_RCODE_MASK
    pos = 12
    for _ in range(qd):
        _, _, pos = decode_name(data, pos)
        pos += 4
    if an < 1:
        if rcode:
            return NameQueryAnswer(trn_id, rcode, "", 0, ())
        raise MalformedPacket("positive name query response has no answer record")
    name, suffix, pos = decode_name(data, pos)
    if len(data) < pos + 10:
        raise MalformedPacket("truncated name query resource record")
    rr_type, _rr_class, _ttl, rdlength = struct.unpack_from(">HHIH", data, pos)
    pos += 10
    if rcode:
        return NameQueryAnswer(trn_id, rcode, name, suffix, ())
    if rr_type != QTYPE_NB:
        raise MalformedPacket(f"answer record type 0x{rr_type:04x} is not NB")
    rdata = data[pos : pos + rdlength]
    if len(rdata) != rdlength or rdlength % 6:
        raise MalformedPacket(f"name query rdata of {rdlength} bytes is not whole 6-byte entries")
    addresses = tuple(".".join(str(b) for b in rdata[i + 2 : i + 6]) for i in range(0, rdlength, 6))
    return NameQueryAnswer(trn_id, rcode, name, suffix, addresses)
