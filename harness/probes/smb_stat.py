"""``smb_stat``: ask for the standard information of the client's own open file.

On the wire: SMB2 QUERY_INFO, InfoType FILE, FileStandardInformation ([MS-SMB2] 2.2.37,
[MS-FSCC] 2.4.41); on SMB1 TRANS2_QUERY_FILE_INFORMATION with SMB_QUERY_FILE_STANDARD_INFO
([MS-CIFS] 2.2.6.8). The file is opened at setup and kept open: no open per operation, so
a server that stalls only opens (the replica's hold=create) does not stall this. What
Explorer and every file manager send for each file they show.
"""

from __future__ import annotations

from impacket.nmb import NetBIOSError
from impacket.smbconnection import SessionError

from harness.clients import smbops
from harness.clients.scratch import client_file_name

# What an SMB exchange raises: a clean-up that meets one leaves the rest to the scratch sweep.
SMB_ERRORS = (SessionError, NetBIOSError, OSError)


class StatProbe:
    name = "smb_stat"

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.file_name = client_file_name(client)
        self.file_id = None

    @classmethod
    def from_context(cls, ctx) -> StatProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = smbops.open_file(self.session, self.file_name)

    def invoke(self) -> None:
        info = self.session.conn.queryInfo(
            self.session.tree_id, self.file_id
        )  # raises on an error status
        if info is None:
            raise ConnectionError("QUERY_INFO answered without file information")

    def close(self) -> None:
        if self.file_id is None:
            return
        try:
            smbops.close_file(self.session, self.file_id)
            self.session.conn.deleteFile(self.session.endpoint.share, self.file_name)
        except SMB_ERRORS:
            pass  # the run's scratch sweep removes what is left
        self.file_id = None
