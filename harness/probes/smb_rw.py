"""``smb_rw``: write a small block to the client's own file, read it back, compare.

On the wire: SMB2 WRITE then SMB2 READ ([MS-SMB2] 2.2.21, 2.2.19) of ``size_bytes``, each
operation at an offset of its own (block n at n x size_bytes), in a file the client created
at setup. The file stays on the share after the run: every block whose write the server
acknowledged is re-read by a fresh session after the recovery phase (harness.clients.readback,
judged by harness.checkers.writes); the run's scratch sweep removes it after that.

Each operation returns (or, when the read-back differs or fails, attaches to its exception)
what it wrote: ``{file, offset, length, crc32, acked}``, recorded as the completion's ``detail``.
"""

from __future__ import annotations

import os
import zlib

from harness.clients.scratch import client_file_name
from harness.clients.session import Session


class ReadBackMismatch(ValueError):
    """The server acknowledged the write, and the read-back differs."""

    def __init__(self, message: str, detail: dict) -> None:
        super().__init__(message)
        self.detail = detail


class ReadWriteProbe:
    name = "smb_rw"

    def __init__(self, session: Session, client: str, size_bytes: int = 512) -> None:
        self.session = session
        self.client = client
        self.size_bytes = size_bytes
        self.file_name = client_file_name(client)
        self.file_id: int | None = None
        self._n = 0
        self._tail = os.urandom(size_bytes - 4)  # the counter in front makes each block unique

    @classmethod
    def from_context(cls, ctx) -> ReadWriteProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = self.session.open_file(self.file_name)

    def invoke(self) -> dict:
        offset = self._n * self.size_bytes
        self._n += 1
        block = self._n.to_bytes(4, "little") + self._tail
        conn, tid = self.session.conn, self.session.tree_id
        conn.writeFile(tid, self.file_id, block, offset)
        detail = {
            "file": self.file_name,
            "offset": offset,
            "length": len(block),
            "crc32": zlib.crc32(block),
            "acked": True,
        }
        try:
            back = conn.readFile(tid, self.file_id, offset, self.size_bytes)
        except Exception as exc:  # acknowledged all the same: recorded, so it is re-read
            exc.detail = detail  # type: ignore[attr-defined]  # the caller reads it
            raise
        if back != block:
            raise ReadBackMismatch(
                f"read back {len(back)} bytes at offset {offset} that differ from the "
                f"{len(block)} written",
                {**detail, "read_back": "mismatch"},
            )
        return detail

    def close(self) -> None:
        if self.file_id is None:
            return
        try:  # not deleted: the post-recovery verification re-reads it, then the sweep removes it
            self.session.conn.closeFile(self.session.tree_id, self.file_id)
        except Exception:  # noqa: BLE001 best effort
            pass
        self.file_id = None
