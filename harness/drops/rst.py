"""``rst``: abortive close. SO_LINGER 0 then close(): the victim's kernel sends a RST."""

from harness.drops.base import Drop, abort, left_with, vanished
from harness.packets.tcp import RST


class Rst(Drop):
    """Evidence: the victim's server socket is gone from the server's TCP table."""

    mode = "rst"
    repeatable = True
    wire = "RST from the victim (SO_LINGER 0 + close), no logoff"

    def act(self, session):
        abort(session.sock)
        return {"sent": "RST"}

    def evidence(self, before, rows, detail, victim_exitcode):
        return vanished(before, rows)

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        return (
            {"capture": "RST left the victim"}
            if left_with(captured, since_monotonic, RST)
            else None
        )
