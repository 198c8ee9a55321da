"""``ignore_breaks``: the client that keeps working but never acknowledges a break. The victim
stays connected and busy (an SMB2 ECHO every ``echo_interval_s``, each answered), reads every
oplock or lease break the server sends it, records it, and never sends the acknowledgement.
Its kernel and its SMB session are healthy, so neither TCP nor Samba's break-ack check
(which only asks whether the break's bytes were TCP-acknowledged) can tell anything is wrong:
only the break timeout releases what the break asked for. At the end of the fault phase it
resets its connection (SO_LINGER 0), so the holder is gone for the recovery phase.

On the wire: SMB2 ECHOs and their answers; the server's OPLOCK_BREAK notifications
(command 0x12, MessageId 0xFFFFFFFFFFFFFFFF) read and never answered; then a RST.

Evidence, from what the victim recorded in its own history (``break_received``, with the
echoes answered before it, and ``working``, an echo answered after it), with the server's
socket to it ESTABLISHED: a break received, not acknowledged, and the victim answered after
it. For a holding no opener breaks: echoes answered and no break for ``quiet_s``.
"""

from __future__ import annotations

import os
import struct
import time

from harness.drops.base import Drop, abort
from harness.validate import number

UNSOLICITED = 0xFFFFFFFFFFFFFFFF  # the MessageId of a break notification ([MS-SMB2] 2.2.23)
SMB2_OPLOCK_BREAK = 0x12
LEASE_BREAK_SIZE = 44  # StructureSize of a lease break notification (an oplock break: 24)


def describe_break(command: int, data: bytes) -> dict:
    """What a break notification asked for (pure): the oplock level to break to, or a
    lease's current and new state and whether the server wants an acknowledgement."""
    if command != SMB2_OPLOCK_BREAK or len(data) < 3:
        return {"command": command}
    size = struct.unpack_from("<H", data)[0]
    if size == LEASE_BREAK_SIZE and len(data) >= 32:
        (flags,) = struct.unpack_from("<I", data, 4)
        current, new = struct.unpack_from("<II", data, 24)
        return {
            "kind": "lease",
            "current_state": current,
            "new_state": new,
            "ack_required": bool(flags & 0x01),
        }
    return {"kind": "oplock", "new_level": data[2], "ack_required": True}


def quiet_evidence(
    seen: dict, events: list[dict], quiet_for_s: float, quiet_s: float
) -> dict | None:
    """Pure: with no break sent, the proof that the victim kept working: echoes answered
    for ``quiet_s`` (None until then)."""
    working = [e for e in events if e.get("event") == "working"]
    if working and quiet_for_s >= quiet_s:
        return {
            **seen,
            "breaks_received": 0,
            "echoes_answered": working[-1]["echoes_answered"],
            "waiting": f"no break sent to the victim in {quiet_s:g} s",
        }
    return None


def ignored_evidence(rows, events: list[dict], quiet_for_s: float, quiet_s: float) -> dict | None:
    """Pure: the server's socket to the victim ESTABLISHED (``rows`` None: a server the harness
    cannot look inside), and in the victim's drop events a break received and left
    unacknowledged with an echo answered after it; or, with no break, echoes answered for
    ``quiet_s``."""
    if rows is not None and not any(r.state == "ESTAB" for r in rows):
        return None
    seen = {} if rows is None else {"server_socket": "ESTAB"}
    breaks = [e for e in events if e.get("event") == "break_received"]
    working = [e for e in events if e.get("event") == "working"]
    acked = [e for e in events if e.get("event") == "break_acknowledged"]
    if acked:
        return None
    if breaks:
        first = breaks[0]
        later = [
            w for w in working if w.get("echoes_answered", 0) > first.get("echoes_answered", 0)
        ]
        if not later:
            return None
        return {
            **seen,
            "breaks_received": len(breaks),
            "acknowledged": 0,
            "break": {
                k: first[k]
                for k in ("kind", "new_level", "new_state", "ack_required")
                if k in first
            },
            "echoes_answered_after_break": later[-1]["echoes_answered"] - first["echoes_answered"],
        }
    return quiet_evidence(seen, events, quiet_for_s, quiet_s)


class IgnoreBreaks(Drop):
    """The working client that never acknowledges a break; reset at the end of the fault
    phase."""

    mode = "ignore_breaks"
    wire = (
        "SMB2 ECHOs answered; oplock and lease breaks read and never acknowledged; "
        "a RST at the fault's end"
    )
    smb1_unsupported = "it reads SMB2 break notifications"

    def __init__(self, echo_interval_s: float = 0.25, quiet_s: float = 2.0) -> None:
        self.echo_interval_s = float(number(echo_interval_s, "echo_interval_s", 0.01, 5))
        self.quiet_s = float(number(quiet_s, "quiet_s", 0, 30))
        self._seen_at: float | None = None  # evidence state, kept by the runner's instance

    def act(self, session):
        return {
            "pid": os.getpid(),
            "echo_interval_s": self.echo_interval_s,
            "then": "echoes; breaks read, never acknowledged",
        }

    def during(self, session, until_monotonic, record):
        end = self.holder_end_monotonic(until_monotonic)
        answered, say_working = 0, True  # "working": the first echo, and the first after a break
        pending = session.smb._Connection["OutstandingResponses"]  # impacket keeps unsolicited ones
        while time.monotonic() < end:
            try:
                session.smb.echo()
            except Exception as exc:  # noqa: BLE001  # any failure of the session ends the work
                record("echo_failed", error=str(exc)[:200], echoes_answered=answered)
                break
            answered += 1
            brk = pending.pop(UNSOLICITED, None)
            if brk is not None:
                record(
                    "break_received",
                    acknowledged=False,
                    echoes_answered=answered,
                    **describe_break(brk["Command"], bytes(brk["Data"])),
                )
                self.on_break(bytes(brk["Data"]))
                say_working = True
            elif say_working:
                record("working", echoes_answered=answered)
                say_working = False
            wake = self.tend(session, record)
            time.sleep(max(0.0, min(self.echo_interval_s, end - time.monotonic(), wake)))
        record("reset", echoes_answered=answered)
        abort(session.sock)

    def on_break(self, data: bytes) -> None:
        """A break notification's body was read (this drop: nothing more)."""

    def tend(self, session, record) -> float:
        """Each turn of the working loop: what else is due; seconds until it next is."""
        return self.echo_interval_s

    def evidence(self, before, rows, detail, victim_exitcode):
        """Reads the victim's history (its drop events), then judges purely (ignored_evidence)."""
        return self._from_history(rows)

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """On a server the harness cannot look inside: what the victim recorded alone."""
        return self._from_history(None)

    def _from_history(self, rows) -> dict | None:
        events = self.victim_drop_events()
        if events is None:
            return None
        now = time.monotonic()
        if self._seen_at is None:
            self._seen_at = now
        return self.judge(rows, events, now - self._seen_at)

    def judge(self, rows, events: list[dict], quiet_for_s: float) -> dict | None:
        """Pure: the evidence from the server's rows and the victim's drop events."""
        return ignored_evidence(rows, events, quiet_for_s, self.quiet_s)
