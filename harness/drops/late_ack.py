"""``late_ack``: the slow client. As ``ignore_breaks`` the victim keeps working (echoes
answered) and reads every oplock or lease break, but it acknowledges each one
``ack_after_s`` after it read it. A correct server grants or refuses the opener as soon as
the acknowledgement arrives (the holder's share mode still stands), well before its break
timeout. At the end of the fault phase the victim resets its connection.

On the wire: SMB2 ECHOs and their answers; each break notification answered ``ack_after_s``
later with an OPLOCK_BREAK acknowledgment ([MS-SMB2] 2.2.24.1: the level the break asked
for, the notification's FileId) or a lease break acknowledgment (2.2.24.2: the LeaseKey and
the new lease state); then a RST.

Evidence, from what the victim recorded in its history: a break received, acknowledged no
sooner than ``ack_after_s`` after it (``break_acknowledged``, with the server's answer), with
the server's socket to it ESTABLISHED. For a holding no opener breaks: echoes answered and no
break for ``quiet_s``.
"""

from __future__ import annotations

import struct
import time

from harness.drops.ignore_breaks import (
    LEASE_BREAK_SIZE,
    SMB2_OPLOCK_BREAK,
    IgnoreBreaks,
    quiet_evidence,
)
from harness.validate import number

OPLOCK_ACK_SIZE, LEASE_ACK_SIZE = 24, 36


def break_ack(data: bytes) -> bytes:
    """Pure: the acknowledgment body for a break notification's body."""
    if struct.unpack_from("<H", data)[0] == LEASE_BREAK_SIZE:
        key, new_state = data[8:24], struct.unpack_from("<I", data, 28)[0]
        return struct.pack("<HHI", LEASE_ACK_SIZE, 0, 0) + key + struct.pack("<IQ", new_state, 0)
    return struct.pack("<HBBI", OPLOCK_ACK_SIZE, data[2], 0, 0) + data[8:24]


def late_evidence(
    rows, events: list[dict], ack_after_s: float, quiet_for_s: float, quiet_s: float
) -> dict | None:
    """Pure: the server's socket to the victim ESTABLISHED (``rows`` None: a server the harness
    cannot look inside), and a break the victim received acknowledged no sooner than
    ``ack_after_s`` after it; or, with no break, echoes answered for ``quiet_s``."""
    if rows is not None and not any(r.state == "ESTAB" for r in rows):
        return None
    seen = {} if rows is None else {"server_socket": "ESTAB"}
    breaks = [e for e in events if e.get("event") == "break_received"]
    acks = [e for e in events if e.get("event") == "break_acknowledged"]
    if breaks:
        if not acks or any(a.get("late_s", 0) < ack_after_s for a in acks):
            return None
        return {
            **seen,
            "breaks_received": len(breaks),
            "acknowledged": len(acks),
            "late_s": acks[0]["late_s"],
            "answer": acks[0].get("status"),
        }
    return quiet_evidence(seen, events, quiet_for_s, quiet_s)


class LateAck(IgnoreBreaks):
    """The slow client: every break acknowledged ``ack_after_s`` after it arrived."""

    mode = "late_ack"
    wire = "SMB2 ECHOs answered; each break acknowledged ack_after_s late; a RST at the fault's end"

    def __init__(
        self, ack_after_s: float = 10.0, echo_interval_s: float = 0.25, quiet_s: float = 2.0
    ) -> None:
        super().__init__(echo_interval_s, quiet_s)
        self.ack_after_s = float(number(ack_after_s, "ack_after_s", 0, 600))
        self._due: list[tuple[float, float, bytes]] = []  # (due, read at, body), in the victim

    def act(self, session):
        return {
            **super().act(session),
            "ack_after_s": self.ack_after_s,
            "then": f"echoes; breaks acknowledged {self.ack_after_s:g} s late",
        }

    def on_break(self, data):
        now = time.monotonic()
        self._due.append((now + self.ack_after_s, now, data))

    def tend(self, session, record):
        now = time.monotonic()
        for item in [d for d in self._due if d[0] <= now]:
            self._due.remove(item)
            _, read_at, data = item
            packet = session.smb2_packet(SMB2_OPLOCK_BREAK)
            packet["Data"] = break_ack(data)
            answer = session.smb.recvSMB(session.smb.sendSMB(packet))
            record(
                "break_acknowledged",
                late_s=round(time.monotonic() - read_at, 3),
                status=f"{answer['Status']:#010x}",
            )
        pending = [d[0] - time.monotonic() for d in self._due]
        return min([self.echo_interval_s, *pending])

    def judge(self, rows, events, quiet_for_s):
        return late_evidence(rows, events, self.ack_after_s, quiet_for_s, self.quiet_s)
