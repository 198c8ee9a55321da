"""Captures on the harness's side (AF_PACKET, root). FlowCapture: one TCP flow's parsed
headers, for servers the harness cannot look inside (what left the victim and what the server
sent back). PacketCapture: the raw packets of every client's flows with the server, in a
bounded ring, for the pcap of a failed scenario (harness.run.pcaps)."""

from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import InfraError
from harness.lab.inns import start_without_signals
from harness.lab.netns import enter_netns
from harness.packets import bpf
from harness.packets.pcap import Frame, FrameRing, RecentDuplicates
from harness.packets.tcp import Segment, parse_ipv4_tcp

ETH_P_ALL = 0x0003  # only a tap on every protocol sees outgoing packets
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26


def attach_flow_filter(sock: socket.socket, a: tuple[str, int], b: tuple[str, int]) -> None:
    """Let the kernel pass only the a <-> b TCP flow to ``sock`` (classic BPF), then drop
    whatever was queued before the filter took effect."""
    attach_filter(sock, bpf.flow_filter(a, b))


def attach_filter(sock: socket.socket, program: list) -> None:
    """Attach a classic BPF program to ``sock``, then drop what was queued before it."""
    code = bpf.encode(program)
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


def _ip_packets(sock: socket.socket, stop: threading.Event) -> Iterator[tuple[bytes, Any]]:
    """What an AF_PACKET socket (with a receive timeout) receives, IPv4 only, until ``stop``
    is set or the socket is closed."""
    while not stop.is_set():
        try:
            data, addr = sock.recvfrom(65535)
        except TimeoutError:
            continue
        except OSError:
            return
        if addr[1] == ETH_P_IP:
            yield data, addr


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

    def start(self) -> FlowCapture:
        start_without_signals(self._thread)
        return self

    def _run(self) -> None:
        seen_out: set[tuple[int, int, int]] = set()
        for data, addr in _ip_packets(self._sock, self._stop):
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


CAPTURE_SOCKET_TIMEOUT_S = 5.0
CAPTURE_RCVBUF_BYTES = 4 << 20  # a burst of probes must not overflow the queue between reads
SO_RCVBUFFORCE = 33  # root may exceed net.core.rmem_max (SO_RCVBUF is capped by it)
SOL_PACKET = 263
PACKET_STATISTICS = 6  # struct tpacket_stats {tp_packets, tp_drops}, reset on every read


def packet_socket_in(netns: str | None, ifname: str | None = None) -> socket.socket:
    """An AF_PACKET socket of network namespace ``netns`` (None: the harness's own), bound
    to ``ifname`` if given. Made by a short-lived thread that enters the namespace (setns of
    a network namespace changes only the calling thread); the socket stays in it."""
    out: dict = {}

    def make() -> None:
        try:
            if netns:
                enter_netns(netns)
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            if ifname:
                sock.bind((ifname, ETH_P_ALL))
            out["sock"] = sock
        except (OSError, InfraError) as exc:  # handed to the caller's thread below
            out["error"] = exc

    maker = threading.Thread(target=make, name="nbth-capture-socket", daemon=True)
    start_without_signals(maker)
    maker.join(CAPTURE_SOCKET_TIMEOUT_S)
    if "sock" not in out:
        raise OSError(
            f"no packet socket in {netns or 'this namespace'}: {out.get('error', 'timed out')}"
        )
    return out["sock"]


class PacketCapture:
    """The raw IPv4 packets from and to ``server_addr`` that ``netns`` sees (on ``ifname``
    only, if given), the newest of them within ``cap_bytes`` (harness.packets.pcap.FrameRing).
    The same packet seen twice (a bridge port and the bridge, loopback out and in) is kept
    once."""

    def __init__(
        self, netns: str | None, server_addr: str, cap_bytes: int, ifname: str | None = None
    ) -> None:
        self.ring = FrameRing(cap_bytes)
        self.kernel_drops = 0  # packets the kernel dropped because the queue was full
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = packet_socket_in(netns, ifname)
        try:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_RCVBUF_BYTES)
            except PermissionError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CAPTURE_RCVBUF_BYTES)
            attach_filter(self._sock, bpf.host_filter(server_addr))
            self._sock.settimeout(0.1)
        except OSError:
            self._sock.close()
            raise
        self._thread = threading.Thread(target=self._run, name="nbth-pcap", daemon=True)

    def start(self) -> PacketCapture:
        start_without_signals(self._thread)
        return self

    def _run(self) -> None:
        duplicates = RecentDuplicates()
        for data, _addr in _ip_packets(self._sock, self._stop):
            now = time.time()
            if duplicates.seen(now, data):
                continue
            with self._lock:
                self.ring.add(Frame(now, data))

    def frames(self) -> list[Frame]:
        with self._lock:
            return self.ring.frames()

    def stop(self) -> None:
        """Stop capturing (idempotent); the ring and ``kernel_drops`` stay readable."""
        if not self._stop.is_set():
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join(1.0)
            try:
                stats = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                self.kernel_drops = struct.unpack("II", stats)[1]
            except OSError:
                pass
            self._sock.close()
