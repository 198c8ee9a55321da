"""``smb_stat``: ask for the standard information of the client's own open file.

On the wire: SMB2 QUERY_INFO, InfoType FILE, FileStandardInformation ([MS-SMB2] 2.2.37,
[MS-FSCC] 2.4.41); on SMB1 TRANS2_QUERY_FILE_INFORMATION with SMB_QUERY_FILE_STANDARD_INFO
([MS-CIFS] 2.2.6.8). The file is opened at setup and kept open: no open per operation, so
a server that stalls only opens (the replica's hold=create) does not stall this. What
Explorer and every file manager send for each file they show.
"""

from __future__ import annotations

from harness.probes.own_file import OwnFileProbe


class StatProbe(OwnFileProbe):
    name = "smb_stat"

    def invoke(self) -> None:
        info = self.session.conn.queryInfo(
            self.session.tree_id, self.file_id
        )  # raises on an error status
        if info is None:
            raise ConnectionError("QUERY_INFO answered without file information")
