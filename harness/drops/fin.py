"""``fin``: the victim closes its socket mid-session, without logoff.

On the wire: an SMB2 READ the victim will never wait for, then FIN (close()). The server's
answer then meets a closed socket (the victim's kernel answers it with RST).
"""

from harness.drops.base import Drop, vanished
from harness.drops.stall import BIG_FILE_BYTES, prepare_big_file


class Fin(Drop):
    mode = "fin"
    wire = "an outstanding SMB2 READ, then FIN (close without logoff)"

    def __init__(self, read_bytes: int = 65536) -> None:
        self.read_bytes = int(read_bytes)
        self.file_id = None

    def prepare(self, session):
        self.file_id = prepare_big_file(session, min(self.read_bytes, BIG_FILE_BYTES))

    def act(self, session):
        message_id = session.send_read_nowait(self.file_id, 0, min(self.read_bytes, session.max_read_bytes()))
        session.sock.close()
        return {"sent": "FIN", "outstanding_message_id": message_id}

    def release(self, session):
        pass

    def evidence(self, before, rows, detail, victim_exitcode):
        return vanished(before, rows)
