"""What the probes on their client's own scratch file share (smb_lock, smb_stat): the file is
opened once at set-up and kept open, then closed and deleted at the end; the run's scratch
sweep removes what a failed clean-up leaves."""

from __future__ import annotations

from typing import Self

from harness.clients import smbops
from harness.clients.scratch import client_file_name

# What an SMB exchange raises: a clean-up that meets one leaves the rest to the scratch sweep.


class OwnFileProbe:
    """A probe on the client's own open file (``invoke`` is the subclass's)."""

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.file_name = client_file_name(client)
        self.file_id = None

    @classmethod
    def from_context(cls, ctx) -> Self:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = smbops.open_file(self.session, self.file_name)

    def close(self) -> None:
        if self.file_id is None:
            return
        try:
            smbops.close_file(self.session, self.file_id)
            self.session.conn.deleteFile(self.session.endpoint.share, self.file_name)
        except smbops.SMB_ERRORS:
            pass  # the run's scratch sweep removes what is left
        self.file_id = None
