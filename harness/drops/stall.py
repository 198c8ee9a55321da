"""``stall``: the victim stops reading with large reads outstanding and a small receive
buffer, so its window closes and the server's send buffer fills (the KB's "all the send
buffers have been consumed"). The socket stays open, silent, until the run ends."""

import socket

from harness.drops.base import Drop

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
    wire = "SO_RCVBUF shrunk, several 1 MiB SMB2 READs sent, then nothing is read"
    holds_session = True

    def __init__(self, reads: int = 4, rcvbuf_bytes: int = 4096) -> None:
        self.reads, self.rcvbuf_bytes = int(reads), int(rcvbuf_bytes)
        self.file_id = None

    def prepare(self, session):
        self.file_id = prepare_big_file(session, min(self.reads, 4) * CHUNK_BYTES)

    def act(self, session):
        session.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_bytes)
        ids = [session.send_read_nowait(self.file_id, (i % 4) * CHUNK_BYTES, CHUNK_BYTES)
               for i in range(self.reads)]
        return {"outstanding_reads": len(ids), "read_bytes": CHUNK_BYTES,
                "rcvbuf_bytes": self.rcvbuf_bytes}

    def evidence(self, before, rows, detail, victim_exitcode):
        for row in rows:
            if row.state == "ESTAB" and row.send_q >= STUCK_SEND_Q_BYTES:
                return {"server_socket": "ESTAB", "send_q_bytes": row.send_q, "peer": row.peer}
        return None
