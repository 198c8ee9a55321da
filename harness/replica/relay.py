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
import functools
import gc
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from harness.errors import InfraError
from harness.replica.config import EventLog, ReplicaConfig
from harness.replica.hold import Hold
from harness.replica.lose import WriteLoss
from harness.replica.name_service import NameService
from harness.replica.pipe import Pipe
from harness.replica.session import ClientSession
from harness.replica.triggers import Action

EventSink = Callable[[dict[str, Any]], None]

__all__ = ["EventLog", "EventSink", "Relay", "ReplicaConfig", "serve"]


class Relay:
    """The replica in one asyncio loop. ``await start()``, later ``await close()``.

    ``emit`` receives every event as a dict (``listening``, ``trigger``, ``recover``).
    ``ports`` holds the bound listen ports after start (useful with port 0).
    """

    def __init__(self, config: ReplicaConfig, emit: EventSink | None = None) -> None:
        self.config = config
        self.emit: EventSink = emit or (lambda event: None)
        self.loop = asyncio.get_running_loop()
        self.hold = Hold(config.trigger, config.hold_s, config.degrade_ms, config.holds)
        self.sessions: set[ClientSession] = set()
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._ns: NameService | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._held_pipes: dict[Pipe, None] = {}  # insertion-ordered set
        self._held: list[tuple[NameService, bool, Any, bytes]] = []
        self.write_loss = WriteLoss(config.lose_write, config.lose_write_from)
        self.refused_connections = 0  # over max_connections
        self.dropped_datagrams = 0  # over max_held_datagrams

    async def start(self) -> dict[str, int]:
        """Bind every socket (InfraError if one cannot be bound), then emit ``listening``."""
        cfg = self.config
        try:
            for kind, port, upstream_port in (
                ("nbt", cfg.nbt_port, cfg.upstream_nbt_port),
                ("smb", cfg.smb_port, cfg.upstream_smb_port),
            ):
                if upstream_port is None:  # ReplicaConfig.__post_init__ sets every one
                    raise RuntimeError(f"no upstream port for {kind}")
                try:
                    server = await self.loop.create_server(
                        functools.partial(ClientSession, self, kind, upstream_port),
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
            self._ns = NameService(self, sock, (cfg.upstream_host, cfg.upstream_ns_port))
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
                "holds": cfg.holds,
                "lose_write": cfg.lose_write,
                "lose_write_from": cfg.lose_write_from,
                "grant_reclaim": cfg.grant_reclaim,
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

    def note_held(self, pipe: Pipe, item: Any) -> None:
        """``pipe`` has items waiting for the end of the freeze (``item``: the newest)."""
        self._held_pipes[pipe] = None
        if item.__class__ is bytes:
            self.hold.note_held(nbytes=len(item))

    def note_held_datagram(self, ns: NameService, is_query: bool, addr: Any, data: bytes) -> None:
        if len(self._held) >= self.config.max_held_datagrams:
            self.dropped_datagrams += 1  # lost, as UDP may be
            return
        self._held.append((ns, is_query, addr, data))
        self.hold.note_held(datagrams=1)

    def session_lost(self, session: ClientSession, reason: str) -> Action:
        """A client connection lost its session: log it, and freeze or degrade if counted."""
        decision = self.hold.on_loss(reason, self.loop.time())
        if decision.until_s is not None:
            if self._hold_timer is not None:
                self._hold_timer.cancel()
            self._hold_timer = self.loop.call_at(decision.until_s, self._end_hold)
        self.emit(
            {
                "t_monotonic": time.monotonic(),
                "event": "trigger",
                "peer": session.peer,
                "reason": reason,
                "action": decision.action,
                "port": session.port_kind,
                "trigger": self.config.trigger,
                "outstanding": session.outstanding,
                "client_messages": session.client_messages,
                "extended": decision.extended,
                "hold_until_monotonic": decision.until_s,
            }
        )
        return decision.action

    def note_lost_write(
        self, session: ClientSession, request: bytes, offset: int, length: int, nth: int
    ) -> None:
        self.emit(
            {
                "t_monotonic": time.monotonic(),
                "event": "lost_write",
                "peer": session.peer,
                "nth_write": nth,
                "offset": offset,
                "length": length,
                "smb": 1 if request[:4] == b"\xffSMB" else 2,
            }
        )

    def note_granted_reclaim(self, session: ClientSession, handle: str, file_id: bytes) -> None:
        self.emit(
            {
                "t_monotonic": time.monotonic(),
                "event": "granted_reclaim",
                "peer": session.peer,
                "handle": handle,
                "file_id": file_id.hex(),
            }
        )

    def _end_hold(self) -> None:
        """Recover: flush everything held, in arrival order, and relay normally again."""
        self._hold_timer = None
        t_recover = time.monotonic()
        summary = self.hold.end(self.loop.time())
        pipes, self._held_pipes = list(self._held_pipes), {}
        held, self._held = self._held, []
        for pipe in pipes:
            pipe.blocked = False  # a create hold's held opens go now
            pipe.pump()
        for ns, is_query, addr, data in held:
            if ns is self._ns:
                if is_query:
                    ns.forward(addr, data)
                else:
                    ns.answer(addr, data)
        self.emit({"t_monotonic": t_recover, "event": "recover", **summary})


async def serve(
    config: ReplicaConfig,
    stop: asyncio.Event,
    emit: EventSink | None = None,
    ready: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Run a relay until ``stop`` is set. ``ready`` gets the bound ports once listening."""
    relay = Relay(config, emit)
    ports = await relay.start()
    gc.collect()  # what start-up built is frozen out of the collector: see procs.protocol
    gc.freeze()
    try:
        if ready is not None:
            ready(ports)
        await stop.wait()
    finally:
        await relay.close()
