"""The capture's kernel filter: only the victim's flow reaches Python (real sockets on
loopback, a real AF_PACKET socket; root)."""

import socket
import time

import pytest

from harness.lab.capture import ETH_P_ALL, FlowCapture, attach_flow_filter
from harness.packets.tcp import parse_ipv4_tcp

pytestmark = pytest.mark.integration


def _pair(listener):
    c = socket.create_connection(listener.getsockname(), timeout=2)
    s, _ = listener.accept()
    return c, s


def _addr(sock_name):
    return f"{sock_name[0]}:{sock_name[1]}"


def test_the_kernel_passes_only_the_chosen_flow():
    listener = socket.create_server(("127.0.0.1", 0))
    (c1, s1), (c2, s2) = _pair(listener), _pair(listener)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        attach_flow_filter(raw, c1.getsockname(), c1.getpeername())
        for _ in range(20):
            c2.sendall(b"other flow")  # filtered out in the kernel
            s2.recv(100)
        c1.sendall(b"victim flow")
        s1.recv(100)
        raw.settimeout(0.3)
        seen = []
        try:
            while True:
                seen.append(parse_ipv4_tcp(raw.recv(65535)))
        except TimeoutError:
            pass
        ports = {(seg.sport, seg.dport) for seg in seen}
        mine = {(c1.getsockname()[1], c1.getpeername()[1]), (c1.getpeername()[1], c1.getsockname()[1])}
        assert seen and ports <= mine, ports  # loopback shows each packet twice (out and in)
    finally:
        raw.close()
        for s in (c1, s1, c2, s2, listener):
            s.close()


def test_flow_capture_records_both_directions_of_its_flow_only():
    listener = socket.create_server(("127.0.0.1", 0))
    (c1, s1), (c2, s2) = _pair(listener), _pair(listener)
    cap = FlowCapture(_addr(c1.getsockname()), _addr(c1.getpeername())).start()
    try:
        c2.sendall(b"x" * 100)
        c1.sendall(b"y" * 100)
        s1.sendall(b"z" * 50)
        c1.recv(100)
        s2.recv(100)
        time.sleep(0.3)
    finally:
        cap.stop()
        for s in (c1, s1, c2, s2, listener):
            s.close()
    segs = cap.snapshot()
    sizes = {(c.direction, c.segment.payload_len) for c in segs if c.segment.payload_len}
    assert sizes == {("out", 100), ("in", 50)}, sizes
