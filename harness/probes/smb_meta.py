"""``smb_meta``: what a client sends to save and tidy a file: truncate, flush, rename,
delete (and undo the delete), on the client's own open file.

One probe, not four: the four are steps of one save (truncate or extend, flush, rename into
place, delete the old one), and four more probes would cost four more sessions per client
for one class of request (metadata changes on an open handle). A failure names its step.

On the wire, per operation, on a handle opened at setup and kept (no open per operation, so
a server that stalls only opens does not stall this):

- SMB 2/3 ([MS-SMB2] 2.2.39 SET_INFO, [MS-FSCC] 2.4): SET_INFO FileEndOfFileInformation
  (the size alternates 0 / 4096 bytes), FLUSH (2.2.17), SET_INFO FileRenameInformation to
  the other of two names, SET_INFO FileDispositionInformation DeletePending=1, then =0.
- SMB 1 ([MS-CIFS] 2.2.6.9 TRANS2_SET_FILE_INFORMATION): SMB_SET_FILE_END_OF_FILE_INFO,
  SMB_COM_FLUSH, the rename by handle as pass-through FileRenameInformation (level 1010,
  [MS-SMB] 2.2.2.3.5), SMB_SET_FILE_DISPOSITION_INFO set and cleared.
"""

from __future__ import annotations

import struct

from impacket import smb
from impacket.smb3structs import (
    DELETE,
    FILE_OPEN_IF,
    GENERIC_READ,
    GENERIC_WRITE,
    SMB2_0_INFO_FILE,
    SMB2_FILE_DISPOSITION_INFO,
    SMB2_FILE_END_OF_FILE_INFO,
    SMB2_FILE_RENAME_INFO,
)

from harness.clients import smbops
from harness.clients.scratch import client_file_name
from harness.clients.session import describe_error

SIZES_BYTES = (4096, 0)
SMB1_INFO_PASSTHROUGH = 1000  # [MS-SMB] 2.2.2.3.5: information level = 1000 + FSCC class
# (SMB2 FileInformationClass, SMB1 information level) of each SET_INFO the probe sends
EOF_LEVELS = (SMB2_FILE_END_OF_FILE_INFO, smb.SMB_SET_FILE_END_OF_FILE_INFO)
RENAME_LEVELS = (SMB2_FILE_RENAME_INFO, SMB1_INFO_PASSTHROUGH + SMB2_FILE_RENAME_INFO)
DISPOSITION_LEVELS = (SMB2_FILE_DISPOSITION_INFO, smb.SMB_SET_FILE_DISPOSITION_INFO)


def rename_information(new_name: str, smb1: bool, unicode: bool = True) -> bytes:
    """FileRenameInformation ([MS-FSCC] 2.4.37), no overwrite, no root directory: on SMB 2/3
    with an 8-byte RootDirectory ([MS-SMB2] 2.2.39); on SMB1 pass-through with a 4-byte one,
    the name in UTF-16LE only on a connection that set FLAGS2_UNICODE (else OEM characters:
    Samba reads the name by the request's flags)."""
    name = new_name.encode("utf-16le") if unicode or not smb1 else new_name.encode("ascii")
    if smb1:
        return struct.pack("<B3xII", 0, 0, len(name)) + name
    return struct.pack("<B7xQI", 0, 0, len(name)) + name


def _step(step: str, call, *args) -> None:
    """One step of the operation; an error status names the step."""
    try:
        call(*args)
    except smbops.SMB_STATUS_ERRORS as exc:  # an error status
        raise ConnectionError(f"{step}: {describe_error(exc)}") from None


class _Raw:
    """impacket's SMB1 set_file_info wants an object with getData()."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def getData(self) -> bytes:
        return self.data


class MetadataProbe:
    name = "smb_meta"

    def __init__(self, session, client: str) -> None:
        self.session = session
        self.names = (client_file_name(client), client_file_name(f"{client}_renamed"))
        self.current = 0  # which of the two names the file has now
        self.file_id = None
        self._n = 0
        self._eof_bodies: list[bytes] = []
        self._rename_bodies: list[bytes] = []

    @classmethod
    def from_context(cls, ctx) -> MetadataProbe:
        return cls(ctx.session, ctx.client)

    def open(self) -> None:
        self.file_id = smbops.open_file(
            self.session, self.names[0], FILE_OPEN_IF, access=GENERIC_READ | GENERIC_WRITE | DELETE
        )
        # what the operations send, built once (off the timed path): the end-of-file sizes
        # and the rename to each of the two names
        self._eof_bodies = [struct.pack("<q", size) for size in SIZES_BYTES]
        unicode = self._unicode()
        self._rename_bodies = [
            rename_information(name, self.session.is_smb1, unicode) for name in self.names
        ]

    def _set(self, smb2_class: int, smb1_level: int, data: bytes) -> None:
        s = self.session
        if s.is_smb1:
            s.smb.set_file_info(s.tree_id, self.file_id, smb1_level, _Raw(data))
        else:
            s.smb.setInfo(
                s.tree_id,
                self.file_id,
                inputBlob=data,
                infoType=SMB2_0_INFO_FILE,
                fileInfoClass=smb2_class,
            )

    def _unicode(self) -> bool:
        if not self.session.is_smb1:
            return True
        return bool(self.session.smb.get_flags()[1] & smb.SMB.FLAGS2_UNICODE)

    def invoke(self) -> None:
        eof = self._eof_bodies[self._n % 2]
        self._n += 1
        other = 1 - self.current
        _step("truncate", self._set, *EOF_LEVELS, eof)
        _step("flush", smbops.flush, self.session, self.file_id)
        _step("rename", self._set, *RENAME_LEVELS, self._rename_bodies[other])
        self.current = other
        _step("delete", self._set, *DISPOSITION_LEVELS, b"\x01")
        _step("undelete", self._set, *DISPOSITION_LEVELS, b"\x00")

    def close(self) -> None:
        if self.file_id is None:
            return
        try:  # delete on close: the name it has now goes with the handle
            self._set(*DISPOSITION_LEVELS, b"\x01")
        except smbops.SMB_ERRORS:
            pass
        try:
            smbops.close_file(self.session, self.file_id)
        except smbops.SMB_ERRORS:
            pass  # the run's scratch sweep removes what is left
        self.file_id = None
