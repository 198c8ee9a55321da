"""The replica's relay: one asyncio loop forwarding NBT/SMB over TCP and name service over UDP.

Wire behaviour (see :mod:`harness.replica` for the full description):

- TCP (NBT session port, direct-SMB port): each accepted client gets its own upstream
  connection, opened at once; bytes go through unchanged in both directions, FIN is passed on
  as FIN (half-close), a reset as a reset (SO_LINGER 0). TCP_NODELAY on both sides; on client
  sockets SO_KEEPALIVE (idle 1 s, interval 1 s, 3 probes) and TCP_USER_TIMEOUT.
- UDP (name service): each client address gets its own connected upstream socket, so
  answers find their way back; datagrams go through unchanged.
- A session loss (see :mod:`harness.replica.triggers`) that the trigger setting counts starts
  a *freeze*: for ``hold_s`` nothing is written to any socket, TCP or UDP, in either
  direction, while everything is still read (the kernel keeps ACKing) and held in arrival
  order; then it is all flushed and relaying goes on. A trigger during a freeze extends it.
  With ``degrade_ms`` > 0 a trigger instead delays, for ``hold_s``, every chunk forwarded in
  either direction and every name-service answer by ``degrade_ms``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import os
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from harness.errors import BadInput, InfraError
from harness.packets.nbt import SESSION_MESSAGE
from harness.replica.framing import FrameTracker, smb_message_kind
from harness.replica.triggers import (
    TRIGGERS,
    Action,
    Ending,
    action_for,
    ending_of,
    hold_until,
    loss_reason,
    outstanding_after,
)

UPSTREAM_CONNECT_TIMEOUT_S = 10.0
# Held bytes per direction of one connection before the relay stops reading that socket (the
# client's TCP window then fills, as NT's consumed send buffers did). Far above what a probe
# or an SMB client sends during a hold of a few seconds.
HOLD_CAP_BYTES = 16 * 1024 * 1024
KEEPALIVE_IDLE_S = 1
KEEPALIVE_INTERVAL_S = 1
KEEPALIVE_COUNT = 3
UDP_FLOW_IDLE_S = 60.0  # an upstream UDP socket unused this long is closed
UDP_MAX_FLOWS = 1024
UDP_BATCH = 64  # datagrams read per wake-up, so one busy socket cannot starve the others
RECV_BUFSIZE = 65536

EventSink = Callable[[dict[str, Any]], None]


def _check_port(name: str, value: object, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{name} must be an integer port, got {value!r}")
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise BadInput(f"{name} must be in {low}..65535, got {value}")


def _check_number(name: str, value: object, minimum: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise BadInput(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")


def _check_addr(name: str, value: object) -> None:
    try:
        ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        raise BadInput(f"{name} must be an IP address, got {value!r}") from None


@dataclass
class ReplicaConfig:
    """Settings of one replica. Listen port 0 lets the kernel pick (the ``listening`` event
    reports the real ports); upstream ports default to the listen ports."""

    listen_host: str
    upstream_host: str
    nbt_port: int = 139
    smb_port: int = 445
    ns_port: int = 137
    upstream_nbt_port: int | None = None
    upstream_smb_port: int | None = None
    upstream_ns_port: int | None = None
    trigger: str = "any"
    hold_s: float = 1.0
    degrade_ms: float = 0.0
    user_timeout_ms: int = 3000  # TCP_USER_TIMEOUT on client sockets; 0 leaves the default
    frame_timeout_s: float = 1.0
    log_path: str | None = None

    def __post_init__(self) -> None:
        _check_addr("listen address", self.listen_host)
        _check_addr("upstream address", self.upstream_host)
        for name in ("nbt_port", "smb_port", "ns_port"):
            _check_port(name, getattr(self, name), allow_zero=True)
        if self.upstream_nbt_port is None:
            self.upstream_nbt_port = self.nbt_port
        if self.upstream_smb_port is None:
            self.upstream_smb_port = self.smb_port
        if self.upstream_ns_port is None:
            self.upstream_ns_port = self.ns_port
        for name in ("upstream_nbt_port", "upstream_smb_port", "upstream_ns_port"):
            _check_port(name, getattr(self, name), allow_zero=False)
        if self.nbt_port and self.nbt_port == self.smb_port:
            raise BadInput(f"nbt_port and smb_port are both {self.nbt_port}")
        if self.trigger not in TRIGGERS:
            raise BadInput(
                f"unknown trigger {self.trigger!r} (expected one of {', '.join(TRIGGERS)})"
            )
        _check_number("hold_s", self.hold_s, 0.0)
        _check_number("degrade_ms", self.degrade_ms, 0.0)
        _check_number("frame_timeout_s", self.frame_timeout_s, 0.0, strict=True)
        if (
            isinstance(self.user_timeout_ms, bool)
            or not isinstance(self.user_timeout_ms, int)
            or self.user_timeout_ms < 0
        ):
            raise BadInput(f"user_timeout_ms must be an integer >= 0, got {self.user_timeout_ms!r}")
        if ipaddress.ip_address(self.listen_host) == ipaddress.ip_address(self.upstream_host):
            for listen, upstream in (
                (self.nbt_port, self.upstream_nbt_port),
                (self.smb_port, self.upstream_smb_port),
                (self.ns_port, self.upstream_ns_port),
            ):
                if listen == upstream:
                    raise BadInput(f"the relay would forward {self.listen_host}:{listen} to itself")


class EventLog:
    """JSON-lines event sink: one line per event to ``path`` (appended), else to stderr."""

    def __init__(self, path: str | None, stream: TextIO | None = None) -> None:
        self._stream: TextIO | None = (
            stream if stream is not None else (None if path else sys.stderr)
        )
        self._file: TextIO | None = None
        if path:
            try:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise BadInput(f"cannot open log file {path}: {exc.strerror}") from None

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(", ", ": ")) + "\n"
        for out in (self._file, self._stream):
            if out is not None:
                try:
                    out.write(line)
                    out.flush()
                except (OSError, ValueError):
                    pass

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _format_addr(addr: Any) -> str:
    if not addr:
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _abort_with_reset(transport: asyncio.BaseTransport) -> None:
    """Close at once with an RST (SO_LINGER 0), dropping anything not yet sent."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


_EOF = object()  # queue item: pass a FIN on (shutdown SHUT_WR)
_ABORT = object()  # queue item: pass a reset on


class _Pipe:
    """One direction of one relayed connection: what arrives from ``src`` goes to ``dst``.

    Items are data chunks, ``_EOF`` or ``_ABORT``. They go out at once unless the relay is
    frozen or degraded or earlier items still wait; then they queue, in order.
    """

    __slots__ = (
        "done",
        "dst",
        "dst_paused",
        "eof_sent",
        "queue",
        "queued_bytes",
        "relay",
        "session",
        "src",
        "src_paused",
        "timer",
    )

    def __init__(self, relay: Relay, session: _Session) -> None:
        self.relay = relay
        self.session = session
        self.src: asyncio.Transport | None = None
        self.dst: asyncio.Transport | None = None
        self.queue: deque[tuple[float, Any, int]] = deque()
        self.queued_bytes = 0
        self.timer: asyncio.TimerHandle | None = None
        self.src_paused = False
        self.dst_paused = False
        self.eof_sent = False  # FIN delivered: only a reset may follow
        self.done = False  # reset delivered, or dst gone: nothing more goes out

    def push(self, item: Any, responses: int = 0) -> None:
        if self.done:
            return
        relay = self.relay
        if relay.fast and not self.queue and self.dst is not None:
            self._deliver(item, responses)
            return
        due_s = relay.loop.time() + relay.degrade_s if relay.degrading else 0.0
        self.queue.append((due_s, item, responses))
        if item.__class__ is bytes:
            self.queued_bytes += len(item)
            if self.queued_bytes > HOLD_CAP_BYTES and not self.src_paused:
                self.update_src_reading()
        if relay.frozen:
            relay.note_held(self, item)
        else:
            self.pump()

    def pump(self) -> None:
        """Send what may go now; arm a timer for the first delayed item."""
        if self.dst is None or self.done:
            return
        if self.relay.frozen:
            if self.queue:
                self.relay.note_held(self, None)
            return
        queue = self.queue
        now_s = 0.0
        while queue:
            due_s, item, responses = queue[0]
            if due_s:
                now_s = now_s or self.relay.loop.time()
                if due_s > now_s:
                    if self.timer is None:
                        self.timer = self.relay.loop.call_at(due_s, self._on_timer)
                    break
            queue.popleft()
            if item.__class__ is bytes:
                self.queued_bytes -= len(item)
            self._deliver(item, responses)
            if self.done:
                self.drop()
                return
        if self.src_paused:
            self.update_src_reading()

    def _on_timer(self) -> None:
        self.timer = None
        self.pump()

    def _deliver(self, item: Any, responses: int) -> None:
        dst = self.dst
        assert dst is not None
        if item is _EOF:
            if not self.eof_sent and not dst.is_closing():
                if dst.can_write_eof():
                    dst.write_eof()
                else:
                    dst.close()
            self.eof_sent = True
            self.session.pipe_finished()
        elif item is _ABORT:
            self.done = True
            if not dst.is_closing():
                _abort_with_reset(dst)
        elif dst.is_closing():
            self.drop()
        elif not self.eof_sent:
            dst.write(item)
            if responses:
                session = self.session
                session.outstanding = max(0, session.outstanding - responses)

    def drop(self) -> None:
        """The destination is gone (or finished): discard what waits for it."""
        self.done = True
        self.queue.clear()
        self.queued_bytes = 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.src_paused:
            self.update_src_reading()

    def set_dst_paused(self, paused: bool) -> None:
        """asyncio flow control: dst's write buffer crossed its high/low water mark."""
        self.dst_paused = paused
        self.update_src_reading()

    def update_src_reading(self) -> None:
        want_paused = (self.dst_paused or self.queued_bytes > HOLD_CAP_BYTES) and not self.done
        src = self.src
        if want_paused == self.src_paused or src is None or src.is_closing():
            return
        self.src_paused = want_paused
        if want_paused:
            src.pause_reading()
        else:
            src.resume_reading()


class _UpstreamSide(asyncio.Protocol):
    """Protocol of the relay's connection to the real server; everything goes to the session."""

    __slots__ = ("session",)

    def __init__(self, session: _Session) -> None:
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.session.upstream_made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.session.from_upstream(data)

    def eof_received(self) -> bool:
        self.session.down.push(_EOF)
        return True  # keep our write side open: half-close, as the server did

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.upstream_lost(exc)

    def pause_writing(self) -> None:
        self.session.up.set_dst_paused(True)

    def resume_writing(self) -> None:
        self.session.up.set_dst_paused(False)


class _Session(asyncio.Protocol):
    """One client connection (the protocol of the accepted socket) and its upstream twin."""

    def __init__(self, relay: Relay, port_kind: str, upstream_port: int) -> None:
        self.relay = relay
        self.port_kind = port_kind  # "nbt" or "smb"
        self.upstream_port = upstream_port
        self.peer = "?"
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.up = _Pipe(relay, self)  # client -> server
        self.down = _Pipe(relay, self)  # server -> client
        self.client_frames = FrameTracker()
        self.server_frames = FrameTracker()
        self.client_messages = 0  # complete SESSION MESSAGE frames from the client
        self.outstanding = 0  # of those, requests whose response was not delivered yet
        self.last_progress_s = 0.0  # loop time of the last byte of an incomplete frame
        self.frame_timer: asyncio.TimerHandle | None = None
        self.frame_timeout_fired = False
        self.triggered = False  # this connection already caused a freeze/degrade
        self.client_gone = False
        self.upstream_gone = False
        self.connecting: socket.socket | None = None  # upstream socket until connected
        self.connect_timer: asyncio.TimerHandle | None = None
        self.connect_task: asyncio.Task[Any] | None = None

    # --- client side (asyncio.Protocol of the accepted socket) -----------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        relay = self.relay
        self.client = transport
        self.peer = _format_addr(transport.get_extra_info("peername"))
        self.up.src = transport
        self.down.dst = transport
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
            if relay.config.user_timeout_ms:
                sock.setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, relay.config.user_timeout_ms
                )
        except OSError:
            pass  # already reset; connection_lost follows
        relay.sessions.add(self)
        self._connect_upstream()

    def _connect_upstream(self) -> None:
        """Start a non-blocking connect at once: the SYN leaves while the client's first bytes
        arrive. (Cheaper than a create_connection task: about 0.2 ms less per connection.)"""
        relay = self.relay
        host = relay.config.upstream_host
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.connecting = sock
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect((host, self.upstream_port))
        except (BlockingIOError, InterruptedError):
            relay.loop.add_writer(sock.fileno(), self._upstream_connected)
            self.connect_timer = relay.loop.call_later(
                UPSTREAM_CONNECT_TIMEOUT_S, self._upstream_failed
            )
            return
        except OSError:
            self._upstream_failed()
            return
        self._upstream_connected()

    def _upstream_connected(self) -> None:
        sock = self.connecting
        assert sock is not None
        self.relay.loop.remove_writer(sock.fileno())
        if self.connect_timer is not None:
            self.connect_timer.cancel()
            self.connect_timer = None
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self._upstream_failed()
            return
        self.connecting = None
        self.connect_task = self.relay.loop.create_task(self._wrap_upstream(sock))

    async def _wrap_upstream(self, sock: socket.socket) -> None:
        try:
            await self.relay.loop.create_connection(lambda: _UpstreamSide(self), sock=sock)
        except OSError:
            sock.close()
            self._upstream_failed()

    def _upstream_failed(self) -> None:
        """Upstream refused, unreachable or silent for UPSTREAM_CONNECT_TIMEOUT_S."""
        self._drop_connecting()
        self.upstream_gone = True
        self.up.drop()
        self.down.push(_ABORT)  # the client sees a reset, as from a closed port
        self._forget_if_finished()

    def _drop_connecting(self) -> None:
        if self.connect_timer is not None:
            self.connect_timer.cancel()
            self.connect_timer = None
        sock, self.connecting = self.connecting, None
        if sock is not None:
            self.relay.loop.remove_writer(sock.fileno())
            sock.close()

    def data_received(self, data: bytes) -> None:
        frames = self.client_frames.feed(data)
        for frame in frames:
            if frame.packet_type == SESSION_MESSAGE:
                self.client_messages += 1
                self.outstanding = outstanding_after(
                    self.outstanding, smb_message_kind(frame.head, True)
                )
        if self.client_frames.incomplete:
            self.last_progress_s = self.relay.loop.time()
            self.frame_timeout_fired = False
            if self.frame_timer is None:
                self.frame_timer = self.relay.loop.call_at(
                    self.last_progress_s + self.relay.config.frame_timeout_s, self._check_frame
                )
        self.up.push(data)

    def eof_received(self) -> bool:
        self._session_lost("eof")
        self.up.push(_EOF)
        return True  # half-close: responses may still be on their way to the client

    def connection_lost(self, exc: Exception | None) -> None:
        self.client_gone = True
        if self.frame_timer is not None:
            self.frame_timer.cancel()
            self.frame_timer = None
        if exc is not None:  # None: we closed it ourselves
            self._session_lost(ending_of(exc))
            self.up.push(_ABORT)
        self.down.drop()
        self._forget_if_finished()

    def pause_writing(self) -> None:
        self.down.set_dst_paused(True)

    def resume_writing(self) -> None:
        self.down.set_dst_paused(False)

    def _check_frame(self) -> None:
        """A NetBIOS-level timeout: a frame from the client made no progress for a while."""
        self.frame_timer = None
        if (
            self.client_gone
            or self.triggered
            or self.frame_timeout_fired
            or not self.client_frames.incomplete
        ):
            return
        relay = self.relay
        now_s = relay.loop.time()
        if self.up.src_paused:  # we stopped reading it: the stall is ours, not the client's
            self.last_progress_s = now_s
        due_s = self.last_progress_s + relay.config.frame_timeout_s
        if now_s < due_s:
            self.frame_timer = relay.loop.call_at(due_s, self._check_frame)
            return
        self.frame_timeout_fired = True
        self._session_lost("frame_timeout")

    def _session_lost(self, ending: Ending) -> None:
        if self.triggered:
            return  # one loss per connection: its first counted trigger
        reason = loss_reason(
            ending,
            client_messages=self.client_messages,
            outstanding=self.outstanding,
            incomplete_frame=self.client_frames.incomplete,
        )
        if reason is not None and self.relay.session_lost(self, reason) != "ignored":
            self.triggered = True

    # --- upstream side ----------------------------------------------------------------------

    def upstream_made(self, transport: asyncio.Transport) -> None:
        self.upstream = transport
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.up.dst = transport
        self.down.src = transport
        self.down.update_src_reading()
        self.up.pump()

    def from_upstream(self, data: bytes) -> None:
        responses = 0
        for frame in self.server_frames.feed(data):
            if (
                frame.packet_type == SESSION_MESSAGE
                and smb_message_kind(frame.head, False) == "response"
            ):
                responses += 1
        self.down.push(data, responses)

    def upstream_lost(self, exc: Exception | None) -> None:
        self.upstream_gone = True
        self.up.drop()
        if exc is not None:  # None: we closed it ourselves
            self.down.push(_ABORT)
        self._forget_if_finished()

    # --- both -------------------------------------------------------------------------------

    def pipe_finished(self) -> None:
        """A FIN went out one way; when both ways are done, close both sockets."""
        if (self.up.eof_sent or self.up.done) and (self.down.eof_sent or self.down.done):
            for transport in (self.client, self.upstream):
                if transport is not None and not transport.is_closing():
                    transport.close()

    def _forget_if_finished(self) -> None:
        if self.client_gone and self.upstream_gone:
            self.relay.sessions.discard(self)

    def shutdown(self) -> None:
        """Relay stopping: drop everything, close both sockets now."""
        self._drop_connecting()
        if self.connect_task is not None:
            self.connect_task.cancel()
        if self.frame_timer is not None:
            self.frame_timer.cancel()
        self.up.drop()
        self.down.drop()
        for transport in (self.client, self.upstream):
            if transport is not None and not transport.is_closing():
                transport.abort()


class _UdpFlow:
    __slots__ = ("addr", "last_used_s", "sock")

    def __init__(self, sock: socket.socket, addr: Any, now_s: float) -> None:
        self.sock = sock
        self.addr = addr
        self.last_used_s = now_s


class _NameService:
    """UDP relay: queries from each client address leave through that client's own socket."""

    def __init__(self, relay: Relay, sock: socket.socket, upstream: tuple[str, int]) -> None:
        self.relay = relay
        self.sock = sock
        self.upstream = upstream
        self.flows: dict[Any, _UdpFlow] = {}
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
            if relay.frozen:
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

    def _open_flow(self, addr: Any, now_s: float) -> _UdpFlow | None:
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
        flow = _UdpFlow(sock, addr, now_s)
        self.flows[addr] = flow
        self.relay.loop.add_reader(sock.fileno(), self._on_answer, flow)
        return flow

    def _close_flow(self, flow: _UdpFlow) -> None:
        self.flows.pop(flow.addr, None)
        self.relay.loop.remove_reader(flow.sock.fileno())
        flow.sock.close()

    def _on_answer(self, flow: _UdpFlow) -> None:
        relay = self.relay
        for _ in range(UDP_BATCH):
            try:
                data = flow.sock.recv(RECV_BUFSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # ICMP port unreachable from upstream: nothing to pass on
            if relay.frozen:
                relay.note_held_datagram(self, False, flow.addr, data)
            elif relay.degrading:
                relay.loop.call_later(relay.degrade_s, self.answer, flow.addr, data)
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


class Relay:
    """The replica in one asyncio loop. ``await start()``, later ``await close()``.

    ``emit`` receives every event as a dict (``listening``, ``trigger``, ``recover``).
    ``ports`` holds the bound listen ports after start (useful with port 0).
    """

    def __init__(self, config: ReplicaConfig, emit: EventSink | None = None) -> None:
        self.config = config
        self.emit: EventSink = emit or (lambda event: None)
        self.loop = asyncio.get_running_loop()
        self.frozen = False
        self.degrading = False
        self.fast = True  # neither frozen nor degrading: the forwarding fast path
        self.degrade_s = config.degrade_ms / 1000.0
        self.sessions: set[_Session] = set()
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._ns: _NameService | None = None
        self._hold_action: Action | None = None
        self._hold_started_s = 0.0
        self._hold_until_s: float | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._held_pipes: dict[_Pipe, None] = {}  # insertion-ordered set
        self._held: list[tuple[_NameService, bool, Any, bytes]] = []
        self._held_bytes = 0
        self._held_datagrams = 0

    async def start(self) -> dict[str, int]:
        """Bind every socket (InfraError if one cannot be bound), then emit ``listening``."""
        cfg = self.config
        try:
            for kind, port, upstream_port in (
                ("nbt", cfg.nbt_port, cfg.upstream_nbt_port),
                ("smb", cfg.smb_port, cfg.upstream_smb_port),
            ):
                try:
                    server = await self.loop.create_server(
                        lambda k=kind, p=upstream_port: _Session(self, k, p),
                        cfg.listen_host,
                        port,
                        backlog=256,
                        reuse_address=True,
                    )
                except OSError as exc:
                    raise InfraError(
                        f"cannot bind TCP {cfg.listen_host}:{port}: {exc.strerror or exc}"
                    ) from None
                self._servers.append(server)
                self.ports[f"{kind}_port"] = server.sockets[0].getsockname()[1]
            family = socket.AF_INET6 if ":" in cfg.listen_host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                # nmbd may hold the wildcard address on 137 with SO_REUSEADDR; then this bind
                # to one address is allowed, and the kernel prefers it for that address.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setblocking(False)
                sock.bind((cfg.listen_host, cfg.ns_port))
            except OSError as exc:
                sock.close()
                raise InfraError(
                    f"cannot bind UDP {cfg.listen_host}:{cfg.ns_port}: {exc.strerror or exc}"
                ) from None
            self.ports["ns_port"] = sock.getsockname()[1]
            assert cfg.upstream_ns_port is not None
            self._ns = _NameService(self, sock, (cfg.upstream_host, cfg.upstream_ns_port))
            self._ns.start()
        except BaseException:
            await self.close()
            raise
        self.emit(
            {
                "t_monotonic": time.monotonic(),
                "event": "listening",
                "pid": os.getpid(),
                "listen": cfg.listen_host,
                **self.ports,
                "upstream": cfg.upstream_host,
                "upstream_nbt_port": cfg.upstream_nbt_port,
                "upstream_smb_port": cfg.upstream_smb_port,
                "upstream_ns_port": cfg.upstream_ns_port,
                "trigger": cfg.trigger,
                "hold_s": cfg.hold_s,
                "degrade_ms": cfg.degrade_ms,
                "user_timeout_ms": cfg.user_timeout_ms,
                "frame_timeout_s": cfg.frame_timeout_s,
            }
        )
        return dict(self.ports)

    async def close(self) -> None:
        """Stop listening and drop every connection and everything held. Idempotent."""
        for server in self._servers:
            server.close()
        self._servers.clear()
        for session in list(self.sessions):
            session.shutdown()
        self.sessions.clear()
        if self._ns is not None:
            self._ns.close()
            self._ns = None
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        self._held_pipes.clear()
        self._held.clear()
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks run

    # --- holds --------------------------------------------------------------------------------

    def note_held(self, pipe: _Pipe, item: Any) -> None:
        """``pipe`` has items waiting for the end of the freeze (``item``: the newest)."""
        self._held_pipes[pipe] = None
        if item.__class__ is bytes:
            self._held_bytes += len(item)

    def note_held_datagram(self, ns: _NameService, is_query: bool, addr: Any, data: bytes) -> None:
        self._held.append((ns, is_query, addr, data))
        self._held_datagrams += 1

    def session_lost(self, session: _Session, reason: str) -> Action:
        """A client connection lost its session: log it, and freeze or degrade if counted."""
        cfg = self.config
        action = action_for(cfg.trigger, reason, cfg.degrade_ms)
        now_s = self.loop.time()
        extended = False
        if action != "ignored":
            extended = self._hold_until_s is not None
            self._start_hold(action, now_s)
        self.emit(
            {
                "t_monotonic": time.monotonic(),
                "event": "trigger",
                "peer": session.peer,
                "reason": reason,
                "action": action,
                "port": session.port_kind,
                "trigger": cfg.trigger,
                "outstanding": session.outstanding,
                "client_messages": session.client_messages,
                "extended": extended,
                "hold_until_monotonic": self._hold_until_s if action != "ignored" else None,
            }
        )
        return action

    def _start_hold(self, action: Action, now_s: float) -> None:
        if self._hold_until_s is None:
            self._hold_action = action
            self._hold_started_s = now_s
            self._held_bytes = self._held_datagrams = 0
        self._hold_until_s = hold_until(self._hold_until_s, now_s, self.config.hold_s)
        self.frozen = action == "freeze"
        self.degrading = action == "degrade"
        self.fast = False
        if self._hold_timer is not None:
            self._hold_timer.cancel()
        self._hold_timer = self.loop.call_at(self._hold_until_s, self._end_hold)

    def _end_hold(self) -> None:
        """Recover: flush everything held, in arrival order, and relay normally again."""
        self._hold_timer = None
        t_recover = time.monotonic()
        now_s = self.loop.time()
        held_s = now_s - self._hold_started_s
        self.frozen = self.degrading = False
        self.fast = True
        self._hold_until_s = None
        pipes, self._held_pipes = list(self._held_pipes), {}
        held, self._held = self._held, []
        for pipe in pipes:
            pipe.pump()
        for ns, is_query, addr, data in held:
            if ns is self._ns:
                if is_query:
                    ns.forward(addr, data)
                else:
                    ns.answer(addr, data)
        self.emit(
            {
                "t_monotonic": t_recover,
                "event": "recover",
                "action": self._hold_action,
                "held_s": round(held_s, 6),
                "held_bytes": self._held_bytes,
                "held_datagrams": self._held_datagrams,
            }
        )


async def serve(
    config: ReplicaConfig,
    stop: asyncio.Event,
    emit: EventSink | None = None,
    ready: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Run a relay until ``stop`` is set. ``ready`` gets the bound ports once listening."""
    relay = Relay(config, emit)
    ports = await relay.start()
    try:
        if ready is not None:
            ready(ports)
        await stop.wait()
    finally:
        await relay.close()
