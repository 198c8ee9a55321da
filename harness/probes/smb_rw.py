"""``smb_rw``: write a small block to the client's own file, read it back, compare.

On the wire: SMB2 WRITE then SMB2 READ ([MS-SMB2] 2.2.21, 2.2.19) of ``size_bytes`` at
offset 0 of a file the client created at setup and deletes at teardown.
"""

from __future__ import annotations

import os

from harness.clients.session import Session, client_file_name


class ReadWriteProbe:
    name = "smb_rw"

    def __init__(self, session: Session, client: str, size_bytes: int = 512) -> None:
        self.session = session
        self.client = client
        self.size_bytes = size_bytes
        self.file_name = client_file_name(client)
        self.file_id = None
        self._n = 0
        self._tail = os.urandom(size_bytes - 4)  # the counter in front makes each block unique

    @classmethod
    def from_context(cls, ctx) -> "ReadWriteProbe":
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = self.session.open_file(self.file_name)

    def invoke(self) -> None:
        self._n += 1
        block = self._n.to_bytes(4, "little") + self._tail
        conn, tid = self.session.conn, self.session.tree_id
        conn.writeFile(tid, self.file_id, block, 0)
        back = conn.readFile(tid, self.file_id, 0, self.size_bytes)
        if back != block:
            raise ValueError(f"read back {len(back)} bytes that differ from the {len(block)} written")

    def close(self) -> None:
        if self.file_id is None:
            return
        try:
            self.session.conn.closeFile(self.session.tree_id, self.file_id)
            self.session.conn.deleteFile(self.session.endpoint.share, self.file_name)
        except Exception:
            pass
        self.file_id = None
