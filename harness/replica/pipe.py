"""One direction of one relayed TCP connection, and how the connection's ends are closed.

Items are data chunks, ``EOF`` (pass a FIN on) or ``ABORT`` (pass a reset on). They go out at
once unless the hold policy freezes or degrades the relay, or earlier items still wait; then
they queue in order. A pipe whose queue passes the config's max_held_bytes stops reading its
source (the client's TCP window then fills, as NT's consumed send buffers did).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from typing import Any, Protocol

from harness.replica.context import RelayContext


class PipeOwner(Protocol):
    """The connection a pipe belongs to."""

    outstanding: int  # requests whose response was not delivered yet

    def pipe_finished(self) -> None:
        """A FIN went out one way."""


# Held bytes per direction of one connection before the relay stops reading that socket. Far
# above what a probe or an SMB client sends during a hold of a few seconds.


def format_addr(addr: Any) -> str:
    if not addr:
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def abort_with_reset(transport: asyncio.Transport) -> None:
    """Close at once with an RST (SO_LINGER 0), dropping anything not yet sent."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


EOF = object()  # queue item: pass a FIN on (shutdown SHUT_WR)
ABORT = object()  # queue item: pass a reset on


class Pipe:
    """One direction of one relayed connection: what arrives from ``src`` goes to ``dst``.

    Items are data chunks, ``EOF`` or ``ABORT``. They go out at once unless the relay is
    frozen or degraded or earlier items still wait; then they queue, in order.
    """

    __slots__ = (
        "blocked",
        "done",
        "dst",
        "dst_paused",
        "eof_sent",
        "hold",
        "queue",
        "queued_bytes",
        "relay",
        "session",
        "src",
        "src_paused",
        "timer",
    )

    def __init__(self, relay: RelayContext, session: PipeOwner) -> None:
        self.relay = relay
        self.hold = relay.hold  # read for every chunk: whether it may go at once
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
        self.blocked = False  # a held request waits at the head of the queue (create hold)

    def push(self, item: Any, responses: int = 0) -> None:
        if self.done:
            return
        hold = self.hold
        if hold.fast and not self.queue and self.dst is not None:
            self._deliver(item, responses)
            return
        due_s = self.relay.loop.time() + hold.degrade_s if hold.degrading else 0.0
        self.queue.append((due_s, item, responses))
        if item.__class__ is bytes:
            self.queued_bytes += len(item)
            if self.queued_bytes > self.relay.config.max_held_bytes and not self.src_paused:
                self.update_src_reading()
        if hold.frozen:
            self.relay.note_held(self, item)
        else:
            self.pump()

    def hold_here(self, item: Any) -> None:
        """Queue ``item`` (a held request and what follows it) until the relay's hold ends:
        everything pushed after it waits behind it (the connection's order is kept)."""
        if self.done:
            return
        self.blocked = True
        self.queue.append((0.0, item, 0))
        self.queued_bytes += len(item)
        self.relay.note_held(self, item)

    def pump(self) -> None:
        """Send what may go now; arm a timer for the first delayed item."""
        if self.dst is None or self.done or self.blocked:
            return
        if self.hold.frozen:
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
        if item is EOF:
            if not self.eof_sent and not dst.is_closing():
                if dst.can_write_eof():
                    dst.write_eof()
                else:
                    dst.close()
            self.eof_sent = True
            self.session.pipe_finished()
        elif item is ABORT:
            self.done = True
            if not dst.is_closing():
                abort_with_reset(dst)
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
        over_cap = self.queued_bytes > self.relay.config.max_held_bytes
        want_paused = (self.dst_paused or over_cap) and not self.done
        src = self.src
        if want_paused == self.src_paused or src is None or src.is_closing():
            return
        self.src_paused = want_paused
        if want_paused:
            src.pause_reading()
        else:
            src.resume_reading()
