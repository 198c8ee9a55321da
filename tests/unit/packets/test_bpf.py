"""The flow filter's program, run by a small interpreter of the classic BPF opcodes it uses
on hand-written IPv4 packets."""

import socket
import struct

from harness.packets import bpf


def run(program, packet: bytes) -> int:
    a = x = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == bpf.LDB_ABS:
            a = packet[k]
        elif code == bpf.LDH_ABS:
            a = struct.unpack_from(">H", packet, k)[0]
        elif code == bpf.LDW_ABS:
            a = struct.unpack_from(">I", packet, k)[0]
        elif code == bpf.LDH_IND:
            a = struct.unpack_from(">H", packet, x + k)[0]
        elif code == bpf.LDXB_MSH:
            x = 4 * (packet[k] & 0xF)
        elif code == bpf.AND_K:
            a &= k
        elif code == bpf.JEQ_K:
            pc += jt if a == k else jf
        elif code == bpf.JSET_K:
            pc += jt if a & k else jf
        elif code == bpf.RET_K:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def packet(src, dst, proto=6, frag=0, ihl=5):
    s, sp = src
    d, dp = dst
    ip = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, 40, 0, frag, 64, proto, 0,
                     socket.inet_aton(s), socket.inet_aton(d)) + bytes(4 * (ihl - 5))
    return ip + struct.pack(">HHIIHHHH", sp, dp, 1, 0, 0x5010, 1024, 0, 0)


A, B = ("10.213.0.10", 40000), ("10.213.0.1", 139)
PROG = bpf.flow_filter(A, B)


def test_both_directions_of_the_flow_pass():
    assert run(PROG, packet(A, B)) == bpf.ACCEPT_BYTES
    assert run(PROG, packet(B, A)) == bpf.ACCEPT_BYTES
    assert run(PROG, packet(A, B, ihl=6)) == bpf.ACCEPT_BYTES  # IP options move the ports


def test_everything_else_is_dropped():
    assert run(PROG, packet(A, ("10.213.0.1", 445))) == 0
    assert run(PROG, packet(("10.213.0.11", 40000), B)) == 0
    assert run(PROG, packet(A, B, proto=17)) == 0
    assert run(PROG, packet(A, B, frag=0x0010)) == 0  # a later fragment
    assert run(PROG, b"\x60" + bytes(59)) == 0  # IPv6


def test_same_address_both_ends_is_decided_by_the_ports():
    a, b = ("127.0.0.1", 5000), ("127.0.0.1", 139)
    prog = bpf.flow_filter(a, b)
    assert run(prog, packet(b, a)) == bpf.ACCEPT_BYTES
    assert run(prog, packet(a, b)) == bpf.ACCEPT_BYTES
    assert run(prog, packet(("127.0.0.1", 5001), b)) == 0


def test_encoding_is_the_kernels_sock_filter_layout():
    raw = bpf.encode([(bpf.RET_K, 0, 0, 0xFFFF)])
    assert raw == struct.pack("=HBBI", 0x06, 0, 0, 0xFFFF) and len(raw) == 8


def test_host_filter_passes_whatever_goes_to_or_from_the_server():
    prog = bpf.host_filter("10.213.0.1")
    assert run(prog, packet(A, B)) == bpf.ACCEPT_BYTES
    assert run(prog, packet(B, A)) == bpf.ACCEPT_BYTES
    assert run(prog, packet(A, B, proto=17)) == bpf.ACCEPT_BYTES  # NBSTAT over UDP too
    assert run(prog, packet(A, ("10.213.0.2", 445))) == 0  # another host
    assert run(prog, b"\x60" + bytes(59)) == 0  # IPv6
