"""``smb_list``: list a directory of the client's own that holds a few files.

On the wire: SMB2 QUERY_DIRECTORY with RESTART_SCANS, FileIdBothDirectoryInformation, pattern
``*`` ([MS-SMB2] 2.2.33) on the directory's handle, opened at setup and kept open; on SMB1
TRANS2_FIND_FIRST2 of ``<dir>\\*`` with close-at-end-of-search ([MS-CIFS] 2.2.6.2) on the
session's tree. The probe creates the directory and ``FILES`` empty files in it at setup
and removes them at the end. No open per operation on SMB 2/3 (SMB1's search is by path).
"""

from __future__ import annotations

from impacket import smb
from impacket.nt_errors import STATUS_SUCCESS
from impacket.smb3structs import (
    FILE_DIRECTORY_FILE,
    FILE_LIST_DIRECTORY,
    FILE_OPEN,
    FILEID_BOTH_DIRECTORY_INFORMATION,
    SMB2_QUERY_DIRECTORY,
    SMB2_RESTART_SCANS,
    SMB2QueryDirectory,
    SMB2QueryDirectory_Response,
)

from harness.clients import smbops
from harness.clients.scratch import scratch_name

FILES = 4
LIST_BYTES = 8192  # the answer's buffer: a few entries of about 120 bytes each


def find_first2_parameters(flags2: int, pattern: str):
    """An SMB1 TRANS2_FIND_FIRST2 request's parameters: every entry of ``pattern``, one
    answer, the search closed at its end."""
    params = smb.SMBFindFirst2_Parameters(flags2)
    params["SearchAttributes"] = (
        smb.SMB_FILE_ATTRIBUTE_DIRECTORY
        | smb.SMB_FILE_ATTRIBUTE_HIDDEN
        | smb.SMB_FILE_ATTRIBUTE_SYSTEM
        | smb.SMB_FILE_ATTRIBUTE_ARCHIVE
    )
    params["SearchCount"] = 64
    params["Flags"] = smb.SMB_FIND_CLOSE_AFTER_REQUEST | smb.SMB_FIND_CLOSE_AT_EOS
    params["InformationLevel"] = smb.SMB_FIND_FILE_BOTH_DIRECTORY_INFO
    params["SearchStorageType"] = 0
    unicode = flags2 & smb.SMB.FLAGS2_UNICODE
    params["FileName"] = pattern.encode("utf-16le") + b"\x00\x00" if unicode else pattern + "\x00"
    return params


# What an SMB exchange raises: a clean-up that meets one leaves the rest to the scratch sweep.


class ListProbe:
    name = "smb_list"

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.dir_name = scratch_name(client)  # the sweep removes it if the probe could not
        self.file_names = [f"{self.dir_name}\\f{k}.dat" for k in range(FILES)]
        self.dir_id = None
        self._query: SMB2QueryDirectory | None = None  # SMB 2/3: the request, built once
        self._find_params = b""  # SMB1: FIND_FIRST2's parameters, built once

    @classmethod
    def from_context(cls, ctx) -> ListProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        s = self.session
        s.conn.createDirectory(s.endpoint.share, self.dir_name)
        for name in self.file_names:
            smbops.open_close(s, name)
        if not s.is_smb1:
            self.dir_id = s.conn.createFile(
                s.tree_id,
                self.dir_name,
                desiredAccess=FILE_LIST_DIRECTORY,
                shareMode=smbops.SHARE_ALL,
                creationOption=FILE_DIRECTORY_FILE,
                creationDisposition=FILE_OPEN,
                fileAttributes=0,
            )
            query = SMB2QueryDirectory()
            query["FileInformationClass"] = FILEID_BOTH_DIRECTORY_INFORMATION
            query["Flags"] = SMB2_RESTART_SCANS
            query["FileIndex"] = 0
            query["FileID"] = self.dir_id
            query["OutputBufferLength"] = LIST_BYTES
            query["Buffer"] = "*".encode("utf-16le")
            query["FileNameLength"] = len(query["Buffer"])
            self._query = query
        else:
            self._find_params = find_first2_parameters(s.smb.get_flags()[1], f"{self.dir_name}\\*")

    def invoke(self) -> None:
        if self.session.is_smb1:
            self._find_first2()
            return
        s = self.session
        packet = s.smb2_packet(SMB2_QUERY_DIRECTORY)
        packet["Data"] = self._query
        answer = s.smb.recvSMB(s.smb.sendSMB(packet))
        answer.isValidAnswer(STATUS_SUCCESS)  # raises SessionError on any other status
        if not SMB2QueryDirectory_Response(answer["Data"])["Buffer"]:
            raise ConnectionError("QUERY_DIRECTORY answered with no entries")

    def _find_first2(self) -> None:
        server = self.session.smb
        server.send_trans2(
            self.session.tree_id, smb.SMB.TRANS2_FIND_FIRST2, "\x00", self._find_params, ""
        )
        while True:
            answer = server.recvSMB()
            if answer.isValidAnswer(smb.SMB.SMB_COM_TRANSACTION2):  # raises on an error status
                return

    def close(self) -> None:
        s = self.session
        try:
            if self.dir_id is not None:
                smbops.close_file(s, self.dir_id)
            for name in self.file_names:
                s.conn.deleteFile(s.endpoint.share, name)
            s.conn.deleteDirectory(s.endpoint.share, self.dir_name)
        except smbops.SMB_ERRORS:
            pass  # the run's scratch sweep reports what is left
        self.dir_id = None
