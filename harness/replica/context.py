"""What the relay's parts (pipes, client sessions, the name service) may ask of the relay:
its loop, settings and hold policy, and its notifications. A Protocol, so the parts depend
on this page and not on the relay that composes them."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from harness.replica.config import ReplicaConfig
from harness.replica.hold import Hold
from harness.replica.lose import WriteLoss
from harness.replica.triggers import Action


class RelayContext(Protocol):
    loop: asyncio.AbstractEventLoop
    config: ReplicaConfig
    hold: Hold
    sessions: set[Any]  # the live client sessions
    write_loss: WriteLoss  # which WRITE to lose (lose_write), per connection or once
    refused_connections: int  # connections reset at once: over max_connections

    def note_lost_write(
        self, session: Any, request: bytes, offset: int, length: int, nth: int
    ) -> None:
        """The relay acknowledged a WRITE itself and dropped it (the ``nth`` it counted)."""

    def note_granted_reclaim(self, session: Any, handle: str, file_id: bytes) -> None:
        """The relay granted a durable reconnect (``handle``: DHnC, DH2C) itself."""

    def note_held(self, pipe: Any, item: Any) -> None:
        """``pipe`` has items waiting for the end of a freeze (``item``: the newest)."""

    def note_held_datagram(self, ns: Any, is_query: bool, addr: Any, data: bytes) -> None:
        """A datagram waits for the end of a freeze."""

    def session_lost(self, session: Any, reason: str) -> Action:
        """A client connection lost its session; what the relay does about it."""
