"""``kill``: SIGKILL of the victim process while a request is outstanding.

On the wire: an SMB2 CHANGE_NOTIFY on the victim's own directory (the server answers only
STATUS_PENDING, so it stays outstanding), then whatever the kernel sends for a socket whose
owner died (FIN, or RST when unread data is queued). No logoff. A READ would not do: its
answer can reach the victim's socket before the kill, and then nothing is outstanding.
"""

import os
import signal

from harness.drops.base import WithOutstandingNotify, left_with, vanished
from harness.packets.tcp import FIN, RST

SIGKILLED = -signal.SIGKILL


class Kill(WithOutstandingNotify):
    """Evidence: the victim exited by signal 9 and the server socket is gone."""

    mode = "kill"
    wire = "an outstanding SMB2 CHANGE_NOTIFY, then the victim process is SIGKILLed"

    def act(self, session):
        message_id = self.send_notify(session)
        return {
            "sent": "SMB2 CHANGE_NOTIFY",
            "outstanding_message_id": message_id,
            "then": "SIGKILL",
        }

    def during(self, session, until_monotonic, record):
        """Runs in the victim once act() is recorded (every history line is flushed as it
        is written): the kill itself."""
        os.kill(os.getpid(), signal.SIGKILL)

    def evidence(self, before, rows, detail, victim_exitcode):
        if victim_exitcode != SIGKILLED:
            return None
        gone = vanished(before, rows)
        return gone and {**gone, "victim_exitcode": victim_exitcode}

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        if victim_exitcode != SIGKILLED:
            return None
        for flag, name in ((RST, "RST"), (FIN, "FIN")):
            if left_with(captured, since_monotonic, flag):
                return {
                    "capture": f"{name} left the dead victim's socket",
                    "victim_exitcode": victim_exitcode,
                }
        return None
