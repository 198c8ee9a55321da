"""``fin``: the victim closes its socket mid-session, without logoff.

On the wire: an SMB2 CHANGE_NOTIFY on the victim's own directory (outstanding: the server
answers only STATUS_PENDING), then FIN (close()).
"""

import os

from harness.drops.base import Drop, left_with, vanished
from harness.packets.tcp import FIN, RST


class Fin(Drop):
    mode = "fin"
    wire = "an outstanding SMB2 CHANGE_NOTIFY, then FIN (close without logoff)"

    def __init__(self) -> None:
        self.dir_id = None

    def prepare(self, session):
        self.dir_id = session.open_watch_dir(f"nbth-victim-{os.getpid()}")

    def act(self, session):
        message_id = session.send_change_notify_nowait(self.dir_id)
        session.sock.close()
        return {"sent": "FIN", "outstanding_message_id": message_id}

    def release(self, session):
        pass

    def evidence(self, before, rows, detail, victim_exitcode):
        return vanished(before, rows)

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        # The kernel turns the close into a RST when unread data was queued on the socket.
        for flag, name in ((FIN, "FIN"), (RST, "RST")):
            if left_with(captured, since_monotonic, flag):
                return {"capture": f"{name} left the victim"}
        return None
