"""``smb_contend``: open the file the victim holds, in a way that conflicts with its holding.

On the wire, per operation: SMB2 CREATE of the run's held file for read and write, share
mode read+write, no oplock ([MS-SMB2] 2.2.13); for a ``byte_range_lock`` holding also a
1-byte WRITE at offset 0, inside the locked range (2.2.21); then CLOSE. A success means the
healthy client got the file; a failure records the server's NT status
(STATUS_SHARING_VIOLATION, STATUS_FILE_LOCK_CONFLICT, ...); a timeout is an open the server
left waiting (an oplock or lease break to a holder that is gone). The history's completions
give the time-to-access and the status sequence (harness.checkers.access). It runs from the
drop on (``from_drop`` in the registry; its first open 0.5 s after the drop's start,
``FROM_DROP_AFTER_S``): before it, an open would break the holding of a victim that is still
there.
"""

from __future__ import annotations

from impacket.smb3structs import (
    FILE_OPEN,
    FILE_SHARE_READ,
    FILE_SHARE_WRITE,
    GENERIC_READ,
    GENERIC_WRITE,
)


class ContendedOpenProbe:
    name = "smb_contend"

    def __init__(self, session, held_file: str, holds: str) -> None:
        self.session = session
        self.held_file = held_file
        self.holds = holds

    @classmethod
    def from_context(cls, ctx) -> ContendedOpenProbe:
        if not ctx.held_file or not ctx.holds:
            raise ValueError("smb_contend needs a holding ([victim] holds)")
        return cls(ctx.session, ctx.held_file, ctx.holds)

    def open(self) -> None:
        pass

    def invoke(self) -> None:
        conn, tid = self.session.conn, self.session.tree_id
        fid = conn.createFile(
            tid,
            self.held_file,
            desiredAccess=GENERIC_READ | GENERIC_WRITE,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE,
            creationDisposition=FILE_OPEN,
        )
        try:
            if self.holds == "byte_range_lock":
                conn.writeFile(tid, fid, b"\x01", 0)
        finally:
            conn.closeFile(tid, fid)

    def close(self) -> None:
        # the run's held file; one still held (a durable handle) stays for the target's removal
        try:
            self.session.conn.deleteFile(self.session.endpoint.share, self.held_file)
        except Exception:  # noqa: BLE001 best effort, as said above
            pass
