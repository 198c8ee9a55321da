"""``smb_open``: open (creating it if needed) and close a file of the client's own.

On the wire: SMB2 CREATE (FILE_OPEN_IF, read/write, share all) then SMB2 CLOSE ([MS-SMB2]
2.2.13, 2.2.15); on SMB1 NT_CREATE_ANDX then CLOSE. The open path is where a server makes
other clients wait for what a lost client held (oplocks, leases, share modes, durable
handles): a server that stalls only opens passes every echo, read and write probe.
"""

from __future__ import annotations

from harness.clients import smbops
from harness.clients.scratch import client_file_name


class OpenProbe:
    name = "smb_open"

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.file_name = client_file_name(client)

    @classmethod
    def from_context(cls, ctx) -> OpenProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        smbops.open_close(self.session, self.file_name)  # created here, not in the first op

    def invoke(self) -> None:
        smbops.open_close(self.session, self.file_name)

    def close(self) -> None:
        try:
            self.session.conn.deleteFile(self.session.endpoint.share, self.file_name)
        except Exception:  # noqa: BLE001 best effort
            pass  # the run's scratch sweep removes what is left
