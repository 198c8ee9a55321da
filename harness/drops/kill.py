"""``kill``: SIGKILL of the victim process while a request is outstanding.

On the wire: an SMB2 READ, then whatever the kernel sends for a socket whose owner died
(FIN, or RST when the answer arrives or unread data is queued). No logoff.
"""

import os
import signal

from harness.drops.base import Drop, vanished
from harness.drops.stall import prepare_big_file

SIGKILLED = -signal.SIGKILL


class Kill(Drop):
    mode = "kill"
    wire = "an outstanding SMB2 READ, then the victim process is SIGKILLed"

    def __init__(self, read_bytes: int = 65536) -> None:
        self.read_bytes = int(read_bytes)
        self.file_id = None

    def prepare(self, session):
        self.file_id = prepare_big_file(session, self.read_bytes)

    def act(self, session):
        session.send_read_nowait(self.file_id, 0, min(self.read_bytes, session.max_read_bytes()))
        return {"sent": "SMB2 READ", "then": "SIGKILL"}

    def after_act(self) -> None:
        """Runs in the victim after act() was recorded: the kill itself."""
        os.kill(os.getpid(), signal.SIGKILL)

    def release(self, session):
        pass

    def evidence(self, before, rows, detail, victim_exitcode):
        if victim_exitcode != SIGKILLED:
            return None
        gone = vanished(before, rows)
        return gone and {**gone, "victim_exitcode": victim_exitcode}
