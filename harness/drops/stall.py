"""``stall``: the victim stops reading with large reads outstanding and a small receive
buffer, so its window closes and the server's send buffer fills (the KB's "all the send
buffers have been consumed"). The socket stays open, silent, until the run ends."""

import socket

from harness.drops.base import Drop, after

BIG_FILE_BYTES = 4 << 20
CHUNK_BYTES = 1 << 20
STUCK_SEND_Q_BYTES = 16384


def prepare_big_file(session, size_bytes: int) -> object:
    """Create the victim's own file of size_bytes on the share; return its file id."""
    from harness.clients.session import client_file_name

    file_id = session.open_file(client_file_name("victim"))
    block = b"\xa5" * CHUNK_BYTES
    written = 0
    while written < size_bytes:
        n = min(CHUNK_BYTES, size_bytes - written)
        session.conn.writeFile(session.tree_id, file_id, block[:n], written)
        written += n
    return file_id


class Stall(Drop):
    mode = "stall"
    wire = "SO_RCVBUF shrunk, SMB2 READs for read_total_bytes sent, then nothing is read"
    holds_session = True

    def __init__(self, read_total_bytes: int = 3 << 20, rcvbuf_bytes: int = 4096) -> None:
        if not 0 < int(read_total_bytes) <= BIG_FILE_BYTES:
            raise ValueError(f"read_total_bytes must be in (0, {BIG_FILE_BYTES}]")
        self.read_total_bytes, self.rcvbuf_bytes = int(read_total_bytes), int(rcvbuf_bytes)
        self.file_id = None

    def prepare(self, session):
        self.file_id = prepare_big_file(session, self.read_total_bytes)

    def act(self, session):
        session.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_bytes)
        # Reads of the largest size the server allows (64 KiB without large MTU): one
        # credit each, well within what the server has granted by now.
        size = min(CHUNK_BYTES, session.max_read_bytes())
        offsets = range(0, self.read_total_bytes, size)
        for offset in offsets:
            session.send_read_nowait(self.file_id, offset, size)
        return {"outstanding_reads": len(offsets), "read_bytes": size,
                "rcvbuf_bytes": self.rcvbuf_bytes}

    def evidence(self, before, rows, detail, victim_exitcode):
        for row in rows:
            if row.state == "ESTAB" and row.send_q >= STUCK_SEND_Q_BYTES:
                return {"server_socket": "ESTAB", "send_q_bytes": row.send_q, "peer": row.peer}
        return None

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """The victim's TCP advertised a zero window while the server had more to send."""
        zero = [s for s in after(captured, since_monotonic, "out") if s.window == 0]
        if zero and after(captured, since_monotonic, "in"):
            return {"capture": "the victim advertised a zero window", "zero_window_segments": len(zero)}
        return None
