"""``smb_lock``: take and release an exclusive byte-range lock on the client's own open file.

On the wire: SMB2 LOCK with one exclusive, fail-immediately range, then SMB2 LOCK with
UNLOCK of it ([MS-SMB2] 2.2.26); on SMB1 two LOCKING_ANDX requests ([MS-CIFS] 2.2.4.32).
The file is opened once at setup and kept open; nobody else locks it, so any wait is the
server's lock path (its byte-range lock database, shared by every client) being slow.
"""

from __future__ import annotations

from harness.clients import smbops
from harness.clients.scratch import client_file_name


class LockProbe:
    name = "smb_lock"
    offset = 0
    length_bytes = 1

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.file_name = client_file_name(client)
        self.file_id = None

    @classmethod
    def from_context(cls, ctx) -> LockProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = smbops.open_file(self.session, self.file_name)

    def invoke(self) -> None:
        smbops.lock(self.session, self.file_id, self.offset, self.length_bytes)
        smbops.unlock(self.session, self.file_id, self.offset, self.length_bytes)

    def close(self) -> None:
        if self.file_id is None:
            return
        try:
            smbops.close_file(self.session, self.file_id)
            self.session.conn.deleteFile(self.session.endpoint.share, self.file_name)
        except Exception:  # noqa: BLE001 best effort: the scratch sweep removes the rest
            pass
        self.file_id = None
