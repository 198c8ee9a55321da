"""The relay's side of a relayed connection towards the real server: an asyncio protocol that
hands everything to its client's session (harness.replica.session.ClientSession), which owns
both sockets and the two pipes between them."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.replica.pipe import EOF


class UpstreamSide(asyncio.Protocol):
    """Protocol of the relay's connection to the real server; everything goes to the session."""

    __slots__ = ("session",)

    def __init__(self, session: Any) -> None:  # a ClientSession
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.session.upstream_made(transport)

    def data_received(self, data: bytes) -> None:
        self.session.from_upstream(data)

    def eof_received(self) -> bool:
        self.session.down.push(EOF)
        return True  # keep our write side open: half-close, as the server did

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.upstream_lost(exc)

    def pause_writing(self) -> None:
        self.session.up.set_dst_paused(True)

    def resume_writing(self) -> None:
        self.session.up.set_dst_paused(False)
