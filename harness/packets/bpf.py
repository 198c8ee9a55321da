"""A classic BPF program (linux/filter.h) that passes only one TCP flow's IPv4 packets, as
seen by an AF_PACKET SOCK_DGRAM socket (offset 0 = the IP header). Pure: the program is
bytes; harness.lab.capture attaches it, so the kernel drops every other packet before it
reaches Python."""

from __future__ import annotations

import socket
import struct

# opcodes (BPF_CLASS | BPF_SIZE | BPF_MODE ...)
LDB_ABS, LDH_ABS, LDW_ABS, LDH_IND = 0x30, 0x28, 0x20, 0x48
LDXB_MSH = 0xB1  # X = 4 * (P[k] & 0xf): the IPv4 header's length
AND_K, JEQ_K, JSET_K, RET_K = 0x54, 0x15, 0x45, 0x06
ACCEPT_BYTES = 0xFFFF
_INSN = struct.Struct("=HBBI")


def _ip(addr: str) -> int:
    return struct.unpack(">I", socket.inet_aton(addr))[0]


def flow_filter(a: tuple[str, int], b: tuple[str, int]) -> list[tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions: accept IPv4 TCP packets a -> b and b -> a (no fragments
    past the first); reject everything else."""
    prog: list[tuple] = []  # jump targets as labels, resolved below

    def emit(code, k=0, jt=None, jf=None):
        prog.append((code, jt, jf, k))

    def direction(src, dst, otherwise):
        emit(LDW_ABS, 12)
        emit(JEQ_K, _ip(src[0]), None, otherwise)
        emit(LDW_ABS, 16)
        emit(JEQ_K, _ip(dst[0]), None, otherwise)
        emit(LDH_IND, 0)
        emit(JEQ_K, src[1], None, otherwise)
        emit(LDH_IND, 2)
        emit(JEQ_K, dst[1], "accept", otherwise)

    emit(LDB_ABS, 0)
    emit(AND_K, 0xF0)
    emit(JEQ_K, 0x40, None, "reject")  # IPv4
    emit(LDB_ABS, 9)
    emit(JEQ_K, socket.IPPROTO_TCP, None, "reject")
    emit(LDH_ABS, 6)
    emit(JSET_K, 0x1FFF, "reject", None)  # a later fragment carries no TCP header
    emit(LDXB_MSH, 0)
    direction(a, b, "b_to_a")  # both ends may share an address (loopback): ports decide
    labels = {"b_to_a": len(prog)}
    direction(b, a, "reject")
    labels["accept"] = len(prog)
    emit(RET_K, ACCEPT_BYTES)
    labels["reject"] = len(prog)
    emit(RET_K, 0)

    def rel(target, i):  # a jump from instruction i counts from the one after it
        return 0 if target is None else labels[target] - (i + 1)

    return [(code, rel(jt, i), rel(jf, i), k) for i, (code, jt, jf, k) in enumerate(prog)]


def encode(program: list[tuple[int, int, int, int]]) -> bytes:
    """The instructions as the kernel's struct sock_filter array."""
    return b"".join(_INSN.pack(*insn) for insn in program)


def host_filter(addr: str) -> list[tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions: accept every IPv4 packet from or to ``addr`` (TCP and
    UDP alike: the server's sessions and its name service), whole; reject everything else."""
    k = _ip(addr)
    return [
        (LDB_ABS, 0, 0, 0),
        (AND_K, 0, 0, 0xF0),
        (JEQ_K, 0, 5, 0x40),  # IPv4, else reject
        (LDW_ABS, 0, 0, 12),
        (JEQ_K, 2, 0, k),  # from addr: accept
        (LDW_ABS, 0, 0, 16),
        (JEQ_K, 0, 1, k),  # to addr: accept, else reject
        (RET_K, 0, 0, ACCEPT_BYTES),
        (RET_K, 0, 0, 0),
    ]
