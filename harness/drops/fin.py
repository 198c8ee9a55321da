"""``fin``: the victim closes its socket mid-session, without logoff.

On the wire: an SMB2 CHANGE_NOTIFY on the victim's own directory (outstanding: the server
answers only STATUS_PENDING), then FIN (close()).
"""

from harness.drops.base import WithOutstandingNotify, left_with, vanished
from harness.packets.tcp import FIN, RST


class Fin(WithOutstandingNotify):
    """Evidence: the server socket is gone or closing."""

    mode = "fin"
    repeatable = True
    wire = "an outstanding SMB2 CHANGE_NOTIFY, then FIN (close without logoff)"

    def act(self, session):
        message_id = self.send_notify(session)
        session.sock.close()
        return {"sent": "FIN", "outstanding_message_id": message_id}

    def evidence(self, before, rows, detail, victim_exitcode):
        return vanished(before, rows)

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        # The kernel turns the close into a RST when unread data was queued on the socket.
        for flag, name in ((FIN, "FIN"), (RST, "RST")):
            if left_with(captured, since_monotonic, flag):
                return {"capture": f"{name} left the victim"}
        return None
