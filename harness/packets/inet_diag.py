"""sock_diag netlink for TCP (linux/inet_diag.h, linux/sock_diag.h, linux/tcp.h), pure.

One SOCK_DIAG_BY_FAMILY dump request asks the kernel for every TCP socket of one address
family in the caller's network namespace, with tcp_info attached (INET_DIAG_INFO): the same
table ``ss -tain`` prints, without a process. Rows are ServerSocket-shaped dicts whose
``info`` keys match the ones the drops read from ss (bytes_received, retrans, retrans_total,
backoff, rtt in ms).
"""

from __future__ import annotations

import socket
import struct

NLMSG_ERROR, NLMSG_DONE = 2, 3
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x01, 0x300
INET_DIAG_INFO = 2
ALL_STATES = 0xFFFFFFFF
NO_COOKIE = 0xFFFFFFFF  # INET_DIAG_NOCOOKIE: match any socket of the 4-tuple
ENOENT = 2

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_REQ_V2 = struct.Struct("=BBBxI")  # family, protocol, ext, pad, states; then the sockid
_SOCKID = struct.Struct(">HH16s16s")  # sport, dport (big endian), src, dst; then if, cookie
_MSG = struct.Struct("=BBBB")  # family, state, timer, retrans; then the sockid
_MSG_TAIL = struct.Struct("=IIIII")  # expires, rqueue, wqueue, uid, inode
SOCKID_BYTES = 48
MSG_BYTES = _MSG.size + SOCKID_BYTES + _MSG_TAIL.size  # 72

# ss's names for the kernel's TCP states (include/net/tcp_states.h)
STATES = {
    1: "ESTAB",
    2: "SYN-SENT",
    3: "SYN-RECV",
    4: "FIN-WAIT-1",
    5: "FIN-WAIT-2",
    6: "TIME-WAIT",
    7: "UNCONN",
    8: "CLOSE-WAIT",
    9: "LAST-ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "SYN-RECV",
}


class DiagError(ValueError):
    """A sock_diag message that is not what the kernel sends, or the kernel's error answer."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


def dump_request(family: int, seq: int) -> bytes:
    """A dump request for every TCP socket of ``family`` (AF_INET or AF_INET6), tcp_info on."""
    body = _REQ_V2.pack(family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), ALL_STATES)
    body += bytes(SOCKID_BYTES)
    return (
        _NLMSGHDR.pack(
            _NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0
        )
        + body
    )


def lookup_request(local: tuple[str, int], peer: tuple[str, int], seq: int) -> bytes:
    """An exact request for the one socket local <-> peer (local: the socket's own side).

    The kernel answers with that socket's row, or NLMSG_ERROR ENOENT; it may also answer
    with the LISTEN socket of the local port when no connection matches (check the peer)."""
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET
    size = 16

    def raw(addr: str) -> bytes:
        return socket.inet_pton(family, addr).ljust(size, b"\0")

    body = _REQ_V2.pack(family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), ALL_STATES)
    body += _SOCKID.pack(local[1], peer[1], raw(local[0]), raw(peer[0]))
    body += struct.pack("=III", 0, NO_COOKIE, NO_COOKIE)
    return (
        _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq, 0)
        + body
    )


def split_addr(text: str) -> tuple[str, int]:
    """'10.0.0.1:139' or '[::1]:445' as (address, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _addr(family: int, raw: bytes, port: int | str) -> str:
    port = port or "*"  # as ss prints an unconnected peer
    if family == socket.AF_INET:
        return f"{socket.inet_ntop(socket.AF_INET, raw[:4])}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, raw)}]:{port}"


def parse_tcp_info(raw: bytes) -> dict:
    """The tcp_info fields the drops use, named as ss names them (rtt in ms)."""
    info: dict = {}
    if len(raw) >= 8:
        info["backoff"] = raw[4]
    if len(raw) >= 40:
        info["retrans"] = struct.unpack_from("=I", raw, 36)[0]
    if len(raw) >= 76:
        rtt_us, rttvar_us = struct.unpack_from("=II", raw, 68)
        info["rtt"] = rtt_us / 1000.0
        info["rttvar"] = rttvar_us / 1000.0
    if len(raw) >= 104:
        info["retrans_total"] = struct.unpack_from("=I", raw, 100)[0]
    if len(raw) >= 136:
        info["bytes_acked"], info["bytes_received"] = struct.unpack_from("=QQ", raw, 120)
    return info


def own_messages(data: bytes, seq: int, portid: int | None = None) -> bytes:
    """The messages of one datagram that answer request ``seq`` (and, given, were sent to
    netlink port ``portid``), concatenated; b"" when none does. A reply left over from an
    earlier request (a dump that timed out) is dropped: it must never answer this one."""
    out = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, _mtype, _flags, mseq, mpid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            raise DiagError(f"netlink message length {length} at offset {offset} is impossible")
        if mseq == seq and (portid is None or mpid == portid):
            out.append(data[offset : offset + length].ljust((length + 3) & ~3, b"\0"))
        offset += (length + 3) & ~3
    return b"".join(out)


def parse_messages(data: bytes) -> tuple[list[dict], bool]:
    """The rows in one datagram of a dump's answer, and whether the dump is done.

    A row: {state, recv_q, send_q, local, peer, info}. Raises DiagError on a malformed
    message or on the kernel's error answer."""
    rows: list[dict] = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            raise DiagError(f"netlink message length {length} at offset {offset} is impossible")
        body = data[offset + _NLMSGHDR.size : offset + length]
        offset += (length + 3) & ~3
        if mtype == NLMSG_DONE:
            return rows, True
        if mtype == NLMSG_ERROR:
            errno = -struct.unpack_from("=i", body)[0] if len(body) >= 4 else 0
            raise DiagError(f"sock_diag answered with an error (errno {errno})", errno)
        if mtype != SOCK_DIAG_BY_FAMILY:
            continue
        if len(body) < MSG_BYTES:
            raise DiagError(f"inet_diag_msg of {len(body)} bytes (need {MSG_BYTES})")
        family, state, _timer, _retrans = _MSG.unpack_from(body, 0)
        sport, dport, src, dst = _SOCKID.unpack_from(body, _MSG.size)
        _exp, rqueue, wqueue, _uid, _inode = _MSG_TAIL.unpack_from(body, _MSG.size + SOCKID_BYTES)
        info: dict = {}
        pos = MSG_BYTES
        while pos + 4 <= len(body):
            alen, atype = struct.unpack_from("=HH", body, pos)
            if alen < 4 or pos + alen > len(body):
                raise DiagError(f"attribute length {alen} at {pos} is impossible")
            if atype == INET_DIAG_INFO:
                info = parse_tcp_info(body[pos + 4 : pos + alen])
            pos += (alen + 3) & ~3
        rows.append(
            {
                "state": STATES.get(state, str(state)),
                "recv_q": rqueue,
                "send_q": wqueue,
                "local": _addr(family, src, sport),
                "peer": _addr(family, dst, dport),
                "info": info,
            }
        )
    return rows, False
