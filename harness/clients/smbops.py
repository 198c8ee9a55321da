"""SMB operations on an established session that impacket lacks or gets wrong, for probes and
drops to share: open-and-close of a file, byte-range lock and unlock (SMB2 LOCK, [MS-SMB2]
2.2.26; SMB1 LOCKING_ANDX, [MS-CIFS] 2.2.4.32), FLUSH (SMB2 FLUSH, [MS-SMB2] 2.2.17; SMB1
SMB_COM_FLUSH, [MS-CIFS] 2.2.4.6, which impacket lacks), and SMB2 WRITE, READ and CLOSE of a
handle impacket did not open. Every call waits at most the
session's timeout (impacket's socket timeout) and raises on a status other than success.
"""

from __future__ import annotations

import os
import struct

from impacket import smb, smb3
from impacket.nmb import NetBIOSError
from impacket.nt_errors import STATUS_SUCCESS
from impacket.smb3structs import (
    FILE_OPEN_IF,
    FILE_SHARE_DELETE,
    FILE_SHARE_READ,
    FILE_SHARE_WRITE,
    GENERIC_READ,
    GENERIC_WRITE,
    SMB2_CLOSE,
    SMB2_LOCK,
    SMB2_READ,
    SMB2_WRITE,
    SMB2Close,
    SMB2Read,
    SMB2Read_Response,
    SMB2Write,
    SMB2Write_Response,
)
from impacket.smbconnection import SessionError

from harness.packets.smb1 import SMB_COM_FLUSH, flush_parameters
from harness.packets.smb2_create import (
    LOCK_EXCLUSIVE,
    LOCK_FAIL_IMMEDIATELY,
    LOCK_UNLOCK,
    lock_request,
)

# An error status in an answer, whichever of impacket's layers raised it.
SMB_STATUS_ERRORS = (SessionError, smb.SessionError, smb3.SessionError)
# What an SMB exchange raises: a status, or the connection failing. A clean-up that meets one
# leaves the rest to the scratch sweep.
SMB_ERRORS = (*SMB_STATUS_ERRORS, NetBIOSError, OSError)

SHARE_ALL = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE
LOCKING_ANDX_LARGE_FILES = 0x10  # [MS-CIFS] 2.2.4.32.1 TypeOfLock: 64-bit ranges


def is_smb1(session) -> bool:
    return session.conn.getDialect() == smb.SMB_DIALECT


def open_file(
    session,
    name: str,
    disposition: int = FILE_OPEN_IF,
    access: int = GENERIC_READ | GENERIC_WRITE,
    share: int = SHARE_ALL,
):
    """CREATE (SMB1: NT_CREATE_ANDX) of ``name`` on the session's share; the file id."""
    return session.conn.createFile(
        session.tree_id,
        name,
        desiredAccess=access,
        shareMode=share,
        creationDisposition=disposition,
    )


def close_file(session, file_id) -> None:
    session.conn.closeFile(session.tree_id, file_id)


def open_close(session, name: str) -> None:
    """Open ``name`` (created if missing), then close it: one trip through the open path."""
    close_file(session, open_file(session, name))


def _smb2_lock(session, file_id: bytes, offset: int, length: int, flags: int) -> None:
    # the body from harness.packets (impacket's own lock() joins str() of the elements: not
    # bytes on py3)
    smb2_call(session, SMB2_LOCK, lock_request(file_id, [(offset, length, flags)]))


def smb1_locking_andx(
    fid: int, pid: int, offset: int, length: int, unlock: bool
) -> tuple[bytes, bytes]:
    """Parameters and data of one LOCKING_ANDX request ([MS-CIFS] 2.2.4.32.1): one exclusive
    range (64-bit, LARGE_FILES), locked or unlocked, no wait. Pure."""
    params = struct.pack(
        "<BBHHBBIHH",
        0xFF,
        0,
        0,
        fid,
        LOCKING_ANDX_LARGE_FILES,
        0,
        0,
        1 if unlock else 0,
        0 if unlock else 1,
    )
    data = struct.pack(
        "<HHIIII", pid, 0, offset >> 32, offset & 0xFFFFFFFF, length >> 32, length & 0xFFFFFFFF
    )
    return params, data


def _smb1_lock(session, fid: int, offset: int, length: int, unlock: bool) -> None:
    command = smb.SMBCommand(smb.SMB.SMB_COM_LOCKING_ANDX)
    command["Parameters"], command["Data"] = smb1_locking_andx(
        fid, os.getpid() & 0xFFFF, offset, length, unlock
    )  # the Pid impacket's header carries
    _smb1_call(session, command, smb.SMB.SMB_COM_LOCKING_ANDX)


def _smb1_call(session, command, code: int) -> None:
    """Send one SMB1 command on the session's tree and wait for its answer (raises
    SessionError on any status but success)."""
    server = session.smb
    packet = smb.NewSMBPacket()
    packet["Tid"] = session.tree_id
    packet.addCommand(command)
    server.sendSMB(packet)
    while True:
        answer = server.recvSMB()
        if answer.isValidAnswer(code):
            return


def lock(session, file_id, offset: int, length: int) -> None:
    """Take an exclusive byte-range lock, failing at once if it is held (never waits).
    ``file_id``: impacket's (SMB1: the fid; SMB2: the 16-byte FileId)."""
    if is_smb1(session):
        _smb1_lock(session, file_id, offset, length, unlock=False)
    else:
        _smb2_lock(session, file_id, offset, length, LOCK_EXCLUSIVE | LOCK_FAIL_IMMEDIATELY)


def unlock(session, file_id, offset: int, length: int) -> None:
    if is_smb1(session):
        _smb1_lock(session, file_id, offset, length, unlock=True)
    else:
        _smb2_lock(session, file_id, offset, length, LOCK_UNLOCK)


def flush(session, file_id) -> None:
    """Ask the server to write the file's data to stable storage and wait for its answer
    (SMB2 FLUSH; SMB1 SMB_COM_FLUSH)."""
    if not is_smb1(session):
        session.smb.flush(session.tree_id, file_id)  # raises on any status but success
        return
    command = smb.SMBCommand(SMB_COM_FLUSH)
    command["Parameters"] = flush_parameters(file_id)
    command["Data"] = b""
    _smb1_call(session, command, SMB_COM_FLUSH)


def smb2_call(session, command: int, body):
    """One SMB2 request on the session's tree, answered; raises smb3.SessionError on any
    status but success."""
    dialect = session.smb
    packet = session.smb2_packet(command)
    packet["Data"] = body
    answer = dialect.recvSMB(dialect.sendSMB(packet))
    if answer["Status"] != STATUS_SUCCESS:
        raise smb3.SessionError(answer["Status"], answer)
    return answer


# impacket's own read/write/close refuse a FileId it did not open itself (its OpenTable): the
# ones below take any, such as a handle holdings.raw_create opened or reclaimed.
def smb2_write(session, file_id: bytes, data: bytes, offset: int) -> int:
    """One SMB2 WRITE ([MS-SMB2] 2.2.21) of ``data`` (within the server's MaxWriteSize);
    the byte count the server acknowledged."""
    write = SMB2Write()
    write["FileID"] = file_id
    write["Length"] = len(data)
    write["Offset"] = offset
    write["WriteChannelInfoOffset"] = 0
    write["Buffer"] = data
    return SMB2Write_Response(smb2_call(session, SMB2_WRITE, write)["Data"])["Count"]


def smb2_read(session, file_id: bytes, offset: int, length: int) -> bytes:
    """One SMB2 READ ([MS-SMB2] 2.2.19) of at most ``length`` bytes (64 KiB or less)."""
    read = SMB2Read()
    read["Padding"] = 0x50
    read["FileID"] = file_id
    read["Length"] = length
    read["Offset"] = offset
    return bytes(SMB2Read_Response(smb2_call(session, SMB2_READ, read)["Data"])["Buffer"])


def smb2_close(session, file_id: bytes) -> None:
    """SMB2 CLOSE ([MS-SMB2] 2.2.15) of the handle."""
    close = SMB2Close()
    close["Flags"] = 0
    close["FileID"] = file_id
    smb2_call(session, SMB2_CLOSE, close)
