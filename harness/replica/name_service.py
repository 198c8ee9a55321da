"""The replica's UDP relay (name service, e.g. NBSTAT): each client address gets its own
connected upstream socket, so answers find their way back; datagrams go through unchanged,
or are held or delayed with the rest of the relay."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from harness.replica.context import RelayContext

UDP_FLOW_IDLE_S = 60.0  # an upstream UDP socket unused this long is closed
UDP_MAX_FLOWS = 1024
UDP_BATCH = 64  # datagrams read per wake-up, so one busy socket cannot starve the others
RECV_BUFSIZE = 65536


class UdpFlow:
    __slots__ = ("addr", "last_used_s", "sock")

    def __init__(self, sock: socket.socket, addr: Any, now_s: float) -> None:
        self.sock = sock
        self.addr = addr
        self.last_used_s = now_s


class NameService:
    """UDP relay: queries from each client address leave through that client's own socket."""

    def __init__(self, relay: RelayContext, sock: socket.socket, upstream: tuple[str, int]) -> None:
        self.relay = relay
        self.sock = sock
        self.upstream = upstream
        self.flows: dict[Any, UdpFlow] = {}
        self.sweep_timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.relay.loop.add_reader(self.sock.fileno(), self._on_query)
        self.sweep_timer = self.relay.loop.call_later(UDP_FLOW_IDLE_S / 2, self._sweep)

    def close(self) -> None:
        loop = self.relay.loop
        if self.sweep_timer is not None:
            self.sweep_timer.cancel()
        for flow in list(self.flows.values()):
            self._close_flow(flow)
        loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def _on_query(self) -> None:
        relay = self.relay
        for _ in range(UDP_BATCH):
            try:
                data, addr = self.sock.recvfrom(RECV_BUFSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error reported on the listening socket
            if relay.hold.frozen:
                relay.note_held_datagram(self, True, addr, data)
            else:
                self.forward(addr, data)

    def forward(self, addr: Any, data: bytes) -> None:
        flow = self.flows.get(addr)
        now_s = self.relay.loop.time()
        if flow is None:
            flow = self._open_flow(addr, now_s)
            if flow is None:
                return
        flow.last_used_s = now_s
        try:
            flow.sock.send(data)
        except OSError:
            pass  # UDP: a lost datagram, as on the wire

    def _open_flow(self, addr: Any, now_s: float) -> UdpFlow | None:
        if len(self.flows) >= UDP_MAX_FLOWS:
            self._close_flow(min(self.flows.values(), key=lambda f: f.last_used_s))
        family = socket.AF_INET6 if ":" in self.upstream[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(self.upstream)
        except OSError:
            sock.close()
            return None
        flow = UdpFlow(sock, addr, now_s)
        self.flows[addr] = flow
        self.relay.loop.add_reader(sock.fileno(), self._on_answer, flow)
        return flow

    def _close_flow(self, flow: UdpFlow) -> None:
        self.flows.pop(flow.addr, None)
        self.relay.loop.remove_reader(flow.sock.fileno())
        flow.sock.close()

    def _on_answer(self, flow: UdpFlow) -> None:
        relay = self.relay
        for _ in range(UDP_BATCH):
            try:
                data = flow.sock.recv(RECV_BUFSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # ICMP port unreachable from upstream: nothing to pass on
            if relay.hold.frozen:
                relay.note_held_datagram(self, False, flow.addr, data)
            elif relay.hold.degrading:
                relay.loop.call_later(relay.hold.degrade_s, self.answer, flow.addr, data)
            else:
                self.answer(flow.addr, data)

    def answer(self, addr: Any, data: bytes) -> None:
        try:
            self.sock.sendto(data, addr)
        except OSError:
            pass

    def _sweep(self) -> None:
        now_s = self.relay.loop.time()
        for flow in list(self.flows.values()):
            if now_s - flow.last_used_s > UDP_FLOW_IDLE_S:
                self._close_flow(flow)
        self.sweep_timer = self.relay.loop.call_later(UDP_FLOW_IDLE_S / 2, self._sweep)
