"""A capture of one TCP flow on the harness's own side (AF_PACKET, root), for servers the
harness cannot look inside: what left the victim and what the server sent back."""

from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time
from dataclasses import dataclass

from harness.lab.inns import start_without_signals
from harness.packets import bpf
from harness.packets.tcp import Segment, parse_ipv4_tcp

ETH_P_ALL = 0x0003  # only a tap on every protocol sees outgoing packets
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26


def attach_flow_filter(sock: socket.socket, a: tuple[str, int], b: tuple[str, int]) -> None:
    """Let the kernel pass only the a <-> b TCP flow to ``sock`` (classic BPF), then drop
    whatever was queued before the filter took effect."""
    code = bpf.encode(bpf.flow_filter(a, b))
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HP", len(code) // 8, ctypes.addressof(buf))  # struct sock_fprog
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    sock.setblocking(False)
    try:
        while True:
            sock.recv(65535)
    except BlockingIOError:
        pass


@dataclass(frozen=True)
class Captured:
    t_monotonic: float
    direction: str  # "out" (victim -> server) or "in"
    segment: Segment


class FlowCapture:
    """Records the segments of local <-> peer seen by this network namespace."""

    def __init__(self, local: str, peer: str) -> None:
        lip, lport = local.rsplit(":", 1)
        pip, pport = peer.rsplit(":", 1)
        self.local, self.peer = (lip, int(lport)), (pip, int(pport))
        self.segments: list[Captured] = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        attach_flow_filter(self._sock, self.local, self.peer)  # only this flow reaches Python
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._run, name="nbth-capture", daemon=True)

    def start(self) -> "FlowCapture":
        start_without_signals(self._thread)
        return self

    def _run(self) -> None:
        seen_out: set[tuple[int, int, int]] = set()
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[1] != ETH_P_IP:
                continue
            seg = parse_ipv4_tcp(data)
            if seg is None:
                continue
            if (seg.src, seg.sport) == self.local and (seg.dst, seg.dport) == self.peer:
                direction = "out"
            elif (seg.src, seg.sport) == self.peer and (seg.dst, seg.dport) == self.local:
                direction = "in"
            else:
                continue
            if direction == "out" and addr[2] != PACKET_OUTGOING:
                # On a shared veth the same packet can also be seen arriving; count it once.
                key = (seg.seq, seg.ack, seg.flags)
                if key in seen_out:
                    continue
                seen_out.add(key)
            self.segments.append(Captured(time.monotonic(), direction, seg))

    def snapshot(self) -> list[Captured]:
        return list(self.segments)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self._sock.close()
