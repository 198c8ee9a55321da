"""``smb_lock``: take and release an exclusive byte-range lock on the client's own open file.

On the wire: SMB2 LOCK with one exclusive, fail-immediately range, then SMB2 LOCK with
UNLOCK of it ([MS-SMB2] 2.2.26); on SMB1 two LOCKING_ANDX requests ([MS-CIFS] 2.2.4.32).
The file is opened once at setup and kept open; nobody else locks it, so any wait is the
server's lock path (its byte-range lock database, shared by every client) being slow.
"""

from __future__ import annotations

from harness.clients import smbops
from harness.probes.own_file import OwnFileProbe


class LockProbe(OwnFileProbe):
    name = "smb_lock"
    offset = 0
    length_bytes = 1

    def invoke(self) -> None:
        smbops.lock(self.session, self.file_id, self.offset, self.length_bytes)
        smbops.unlock(self.session, self.file_id, self.offset, self.length_bytes)
