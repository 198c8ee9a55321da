"""``reclaim``: the client that comes back for what it held. The victim holds a durable handle
(``[victim] holds = "durable_v1"`` or ``"durable_v2"``), writes a block of its own on it
(acknowledged), and resets its connection as ``rst`` does. At the end of the fault phase (or
``reclaim_after_s`` after the drop) it comes back on a new connection and reclaims the handle
(harness.clients.reclaim): a session reconnect with PreviousSessionId, then a durable
reconnect (DHnC, DH2C), then a READ of its block. [MS-SMB2] says what a correct server does
(harness.checkers.reclaim judges it): once another client was granted a conflicting open, the
handle is gone and the reclaim fails (smbtorture expects STATUS_OBJECT_NAME_NOT_FOUND); with
no conflict, within the durable timeout, it succeeds and the block reads back as written.

On the wire: an SMB2 WRITE of 512 bytes at offset 0 on the durable handle, a RST (SO_LINGER 0
+ close, no logoff); later a new TCP connection: NEGOTIATE, SESSION_SETUP (PreviousSessionId
= the dropped session's), TREE_CONNECT, CREATE with DHnC or DH2C, READ and CLOSE once
granted, LOGOFF.

Evidence: as ``rst``'s (the server let go of the victim's connection: gone from its TCP table;
on a server the harness cannot look inside, the RST seen leaving the victim), and the reclaim
answered, from the victim's own history (``reclaim``: the server's answer).
"""

from __future__ import annotations

import os
import time
import zlib

from harness.clients.holdings import HeldOpen
from harness.clients.reclaim import RECONNECT, reclaim
from harness.clients.smbops import smb2_write
from harness.drops.base import abort
from harness.drops.rst import Rst
from harness.validate import number

BLOCK_BYTES = 512  # the victim's own block, at offset 0 of the held file


def reclaim_evidence(lost: dict | None, events: list[dict]) -> dict | None:
    """Pure: the loss proven (``lost``: vanished()'s or the capture's) and the reclaim
    answered, as the victim recorded it (its drop events); None until both."""
    done = next((e for e in events if e.get("event") == "reclaim"), None)
    if not lost or done is None:
        return None
    return {
        **lost,
        "reclaim": done.get("handle"),
        "reclaim_status": done.get("status"),
        "session_reconnect": done.get("session"),
    }


class Reclaim(Rst):
    """A RST, then the durable handle reclaimed on a new connection (judged by
    harness.checkers.reclaim). Evidence: as ``rst``'s (the victim's server socket gone; on a
    URL target, the RST in the capture), and the reclaim answered, from the victim's history."""

    mode = "reclaim"
    repeatable = False  # one handle, reclaimed once
    needs_holdings = tuple(RECONNECT)
    smb1_unsupported = "it reclaims an SMB2 durable handle"
    wire = (
        "a WRITE on the durable handle, a RST; then a new connection: SESSION_SETUP with "
        "PreviousSessionId, CREATE with DHnC/DH2C, READ of the block, CLOSE"
    )

    def __init__(self, reclaim_after_s: float | None = None, timeout_s: float = 5.0) -> None:
        self.reclaim_after_s = (
            None
            if reclaim_after_s is None
            else float(number(reclaim_after_s, "reclaim_after_s", 0, 3600))
        )
        self.timeout_s = float(number(timeout_s, "timeout_s", 0, 60, lo_open=True))
        self._dropped_at: float | None = None  # in the victim
        self._previous_session_id = 0
        self._wrote: dict | None = None

    def act(self, session):
        held = session.held
        if not isinstance(held, HeldOpen) or held.holds not in RECONNECT:
            raise ValueError("drop reclaim needs a durable handle ([victim] holds durable_v*)")
        block = os.urandom(BLOCK_BYTES)
        smb2_write(session, held.file_id, block, 0)  # answered: acknowledged
        self._wrote = {"offset": 0, "length": len(block), "crc32": zlib.crc32(block)}
        self._previous_session_id = int(session.smb._Session["SessionID"])
        self._dropped_at = time.monotonic()
        abort(session.sock)
        return {
            "sent": "RST",
            "wrote": self._wrote,
            "handle": RECONNECT[held.holds],
            "previous_session_id": f"{self._previous_session_id:#018x}",
            "reclaim_at": "the fault's end"
            if self.reclaim_after_s is None
            else f"{self.reclaim_after_s:g} s after the drop",
        }

    def during(self, session, until_monotonic, record):
        if self._dropped_at is None:
            return
        at = (
            self._dropped_at + self.reclaim_after_s
            if self.reclaim_after_s is not None
            else (self.fault_end_monotonic or until_monotonic)
        )
        if at >= until_monotonic:
            record("reclaim", status="not_sent", error="the run ended before the reclaim's time")
            return
        time.sleep(max(0.0, at - time.monotonic()))
        sent: list[float] = []

        def on_create() -> None:
            sent.append(time.monotonic())
            record("reclaim_sent", handle=RECONNECT.get(getattr(session.held, "holds", "")))

        outcome = reclaim(
            session, self._previous_session_id, self._wrote, self.timeout_s, on_create
        )
        end = self.fault_end_monotonic
        record(
            "reclaim",
            phase="fault" if end is not None and sent and sent[0] < end else "recovery",
            after_drop_s=round(sent[0] - self._dropped_at, 3) if sent else None,
            answered_in_s=round(time.monotonic() - sent[0], 3) if sent else None,
            wrote=self._wrote,
            **outcome,
        )

    def release(self, session):
        pass  # the RST went in act(); the reclaim's session closed itself

    def evidence(self, before, rows, detail, victim_exitcode):
        """rst's (the server's rows), then the victim's history (reclaim_evidence)."""
        lost = super().evidence(before, rows, detail, victim_exitcode)
        return reclaim_evidence(lost, self.victim_drop_events() or [])

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        lost = super().client_evidence(captured, since_monotonic, detail, victim_exitcode)
        return reclaim_evidence(lost, self.victim_drop_events() or [])
