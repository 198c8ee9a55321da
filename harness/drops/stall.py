"""``stall``: the victim stops reading with large reads outstanding and a small receive
buffer, so its window closes and the server's send buffer fills (the KB's "all the send
buffers have been consumed"). The socket stays open, silent, until the run ends."""

from harness.drops.base import WithBigFile, after
from harness.validate import number

STUCK_SEND_Q_BYTES = 16384


class Stall(WithBigFile):
    """Evidence: the server socket is ESTABLISHED with at least 16 KiB stuck in its send queue."""

    mode = "stall"
    wire = "SO_RCVBUF shrunk, SMB2 READs for read_total_bytes sent, then nothing is read"

    def __init__(self, read_total_bytes: int = 3 << 20, rcvbuf_bytes: int = 4096) -> None:
        super().__init__(read_total_bytes)
        self.rcvbuf_bytes = number(rcvbuf_bytes, "rcvbuf_bytes", 1, 1 << 24, integer=True)

    def act(self, session):
        return self.read_into_small_window(session, self.rcvbuf_bytes)

    def evidence(self, before, rows, detail, victim_exitcode):
        for row in rows:
            if row.state == "ESTAB" and row.send_q >= STUCK_SEND_Q_BYTES:
                return {"server_socket": "ESTAB", "send_q_bytes": row.send_q, "peer": row.peer}
        return None

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """The victim's TCP advertised a zero window while the server had more to send."""
        zero = [s for s in after(captured, since_monotonic, "out") if s.window == 0]
        if zero and after(captured, since_monotonic, "in"):
            return {
                "capture": "the victim advertised a zero window",
                "zero_window_segments": len(zero),
            }
        return None
