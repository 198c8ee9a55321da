"""A logon left half done: the ``half_logon`` trigger's reason (harness.replica.triggers).

A client connection starts a logon with its NEGOTIATE (SMB2 0x0000, SMB1 0x72) or a
SESSION_SETUP leg (SMB2 0x0001, SMB1 SESSION_SETUP_ANDX 0x73); the logon is done when the
server answers a SESSION_SETUP with success. While it is under way, each answer of the
server's leaves the next leg to the client: when the client then says nothing for
``frame_timeout_s`` (the replica's NetBIOS-level timeout), its logon is half done. A server
that serializes logons would keep everyone else's waiting on it; the replica plays that
server with ``trigger = half_logon`` and ``hold = logon``.

``logon_step`` is pure (a state and one message's first bytes in, the next state and what to
do with the timer out); ``LogonWatch`` keeps the state and the timer of one connection.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Literal

from harness.replica.framing import SMB1_MAGIC, SMB2_MAGIC

State = Literal["none", "started", "done"]
Timer = Literal["arm", "cancel", "keep"]

SMB2_NEGOTIATE, SMB2_SESSION_SETUP = 0x0000, 0x0001
SMB1_NEGOTIATE, SMB1_SESSION_SETUP_ANDX = 0x72, 0x73


def _command_status(head: bytes) -> tuple[str, int, int] | None:
    """(``negotiate`` | ``session_setup`` | ``other``, command, NT status) of an SMB header."""
    if head[:4] == SMB2_MAGIC and len(head) >= 14:
        (status,) = struct.unpack_from("<I", head, 8)
        (command,) = struct.unpack_from("<H", head, 12)
        kinds = {SMB2_NEGOTIATE: "negotiate", SMB2_SESSION_SETUP: "session_setup"}
    elif head[:4] == SMB1_MAGIC and len(head) >= 9:
        command = head[4]
        (status,) = struct.unpack_from("<I", head, 5)
        kinds = {SMB1_NEGOTIATE: "negotiate", SMB1_SESSION_SETUP_ANDX: "session_setup"}
    else:
        return None
    return kinds.get(command, "other"), command, status


def logon_step(state: State, head: bytes, from_client: bool) -> tuple[State, Timer]:
    """The logon's next state after one SESSION MESSAGE, and the timer's fate: ``arm`` (the
    server answered a leg: the client owes the next), ``cancel`` (the client spoke, or the
    logon is done), ``keep``."""
    parsed = _command_status(head)
    if state == "done" or parsed is None:
        return state, "keep"
    kind, _, status = parsed
    if from_client:
        if kind in ("negotiate", "session_setup"):
            return "started", "cancel"
        return state, "cancel" if state == "started" else "keep"
    if state != "started":
        return state, "keep"
    if kind == "session_setup" and status == 0:
        return "done", "cancel"
    return state, "arm"


class LogonWatch:
    """One client connection's logon, and the timer that calls ``on_half_logon`` once when
    it is left half done for ``timeout_s``."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, timeout_s: float, on_half_logon: Callable[[], None]
    ) -> None:
        self.loop, self.timeout_s, self.on_half_logon = loop, timeout_s, on_half_logon
        self.state: State = "none"
        self.timer: asyncio.TimerHandle | None = None

    def message(self, head: bytes, from_client: bool) -> None:
        self.state, timer = logon_step(self.state, head, from_client)
        if timer != "keep":
            self.close()
        if timer == "arm":
            self.timer = self.loop.call_later(self.timeout_s, self._fire)

    def _fire(self) -> None:
        self.timer = None
        if self.state == "started":
            self.on_half_logon()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
