"""The victim's own data: blocks it writes and FLUSHes on its session before its drop, and one
more it writes just before the drop, so that the post-recovery read-back
(harness.clients.readback, judged by harness.checkers.writes) can check that the server kept
what it acknowledged to a client that then vanished.

On the wire, on the victim's own session, in its own file
``nbth-victim_data-<pid>-<run marker>.dat`` (opened at set-up, never closed: the drop
orphans the open): at the end of the warm-up,
``FLUSHED_BLOCKS`` WRITEs of ``BLOCK_BYTES`` (SMB2 WRITE / SMB1 WRITE_ANDX) and one FLUSH
(SMB2 FLUSH / SMB1 SMB_COM_FLUSH); ``UNFLUSHED_LEAD_S`` before the drop acts,
``UNFLUSHED_BLOCKS`` more WRITEs that no FLUSH covers. The first part is out of the judged
phases and of the baseline the bounds scale with (a FLUSH is an fsync on the server); the last
write leaves the server next to no time between acknowledging it and losing its client. Each
operation returns what it did as the completion's ``detail``, in the shape smb_rw records
(``file``, ``offset``, ``length``, ``crc32``, ``acked``; the FLUSH: ``file``, ``flush``), so one
checker judges both.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable

from harness.clients import smbops
from harness.clients.scratch import client_file_name
from harness.clients.session import Session

WRITE_PROBE = "victim_write"
FLUSH_PROBE = "victim_flush"
FILE_OWNER = "victim_data"  # the file's name part: nbth-victim_data-<pid>-<run marker>.dat
BLOCK_BYTES = 512
FLUSHED_BLOCKS = 3
UNFLUSHED_BLOCKS = 1
# When the flushed part starts, before the end of the warm-up: time for the writes and a
# FLUSH (an fsync on the server) on a slow machine.
LEAD_S = 0.25
# When the unflushed write goes, before the drop: the drop still starts on time unless the
# write takes longer than this, which it does only on a heavily loaded machine.
UNFLUSHED_LEAD_S = 0.05


class VictimData:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.file_name = client_file_name(FILE_OWNER)
        self.file_id: int | None = None
        self._tail = os.urandom(BLOCK_BYTES - 4)  # the block number in front makes each unique

    def open(self) -> None:
        """At set-up: create the file (share read and write: the read-back may open it while
        the server still holds the victim's open)."""
        self.file_id = self.session.open_file(self.file_name)

    def flushed_part(self) -> list[tuple[str, Callable[[], dict]]]:
        """The operations of the warm-up's end, in order: (probe name, operation returning its
        detail)."""
        return [
            *((WRITE_PROBE, functools.partial(self.write, i)) for i in range(FLUSHED_BLOCKS)),
            (FLUSH_PROBE, self.flush),
        ]

    def unflushed_part(self) -> list[tuple[str, Callable[[], dict]]]:
        """The operations just before the drop."""
        return [
            (WRITE_PROBE, functools.partial(self.write, i))
            for i in range(FLUSHED_BLOCKS, FLUSHED_BLOCKS + UNFLUSHED_BLOCKS)
        ]

    def write(self, index: int) -> dict:
        block = (index + 1).to_bytes(4, "little") + self._tail
        offset = index * BLOCK_BYTES
        self.session.conn.writeFile(self.session.tree_id, self.file_id, block, offset)
        return {
            "file": self.file_name,
            "offset": offset,
            "length": len(block),
            "crc32": zlib.crc32(block),
            "acked": True,
        }

    def flush(self) -> dict:
        smbops.flush(self.session, self.file_id)
        return {"file": self.file_name, "flush": True}
