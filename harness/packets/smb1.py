"""Just enough SMB1 ([MS-CIFS]) for the replica's lost-write control and the victim's FLUSH:
the header (2.2.3.1), SMB_COM_WRITE_ANDX (2.2.4.43) request fields and a successful
response, SMB_COM_FLUSH (2.2.4.6) parameters. Pure.
"""

from __future__ import annotations

import struct

PROTOCOL_ID = b"\xffSMB"
HEADER_BYTES = 32
SMB_COM_FLUSH = 0x05
SMB_COM_WRITE_ANDX = 0x2F
NO_ANDX_COMMAND = 0xFF
SMB_FLAGS_REPLY = 0x80  # 2.2.3.1 Flags
SMB_FLAGS2_SMB_SECURITY_SIGNATURE = 0x0004  # 2.2.3.1 Flags2
# Protocol, Command, Status, Flags, Flags2, PIDHigh, SecurityFeatures, Reserved, TID, PIDLow,
# UID, MID
_HEADER = struct.Struct("<4sBIBHH8sHHHHH")
# WRITE_ANDX request words after WordCount (2.2.4.43.1; OffsetHigh when WordCount is 14):
# AndXCommand, AndXReserved, AndXOffset, FID, Offset, Timeout, WriteMode, Remaining,
# DataLengthHigh ([MS-SMB] 2.2.4.3.1: Reserved in CIFS), DataLength, DataOffset
_WRITE_ANDX_WORDS = struct.Struct("<BBHHIIHHHHH")
# WRITE_ANDX response (2.2.4.43.2, [MS-SMB] 2.2.4.3.2): WordCount 6, AndXCommand,
# AndXReserved, AndXOffset, Count, Available, CountHigh, Reserved; ByteCount 0
_WRITE_ANDX_RESPONSE = struct.Struct("<BBBHHHHHH")


class SMB1Error(ValueError):
    """Bytes that are not the SMB1 message expected."""


def command(message: bytes) -> int | None:
    """The SMB1 command of a message (no transport framing), None if it is no SMB1 header."""
    if len(message) >= 5 and message[:4] == PROTOCOL_ID:
        return message[4]
    return None


def is_write_andx_request(head: bytes) -> bool:
    """A lone WRITE_ANDX request (no chained AndX command) from the client: needs the header
    and the first parameter word of the message (34 bytes)."""
    return (
        command(head) == SMB_COM_WRITE_ANDX
        and len(head) >= HEADER_BYTES + 2
        and not head[9] & SMB_FLAGS_REPLY
        and head[HEADER_BYTES] in (12, 14)
        and head[HEADER_BYTES + 1] == NO_ANDX_COMMAND
    )


def write_andx_request(request: bytes) -> tuple[int, int, int]:
    """(fid, offset, length) of a WRITE_ANDX request (64-bit offset and 32-bit length where
    the request carries their high parts)."""
    if (
        not is_write_andx_request(request)
        or len(request) < HEADER_BYTES + 1 + 2 * request[HEADER_BYTES]
    ):
        raise SMB1Error("not an SMB1 WRITE_ANDX request")
    word_count = request[HEADER_BYTES]
    (
        _cmd,
        _res,
        _andx,
        fid,
        offset,
        _timeout,
        _mode,
        _remaining,
        length_high,
        length,
        _data_offset,
    ) = _WRITE_ANDX_WORDS.unpack_from(request, HEADER_BYTES + 1)
    if word_count == 14:
        offset |= (
            struct.unpack_from("<I", request, HEADER_BYTES + 1 + _WRITE_ANDX_WORDS.size)[0] << 32
        )
    return fid, offset, (length_high << 16) | length


def fake_write_andx_response(request: bytes) -> bytes:
    """A successful WRITE_ANDX response to ``request``, as if the server had written all of
    it: the same TID, PID, UID and MID, the reply flag, status 0, unsigned, Count (and
    CountHigh) = the request's data length. (For the replica's lost-write control: impacket
    neither matches SMB1 answers by MID nor checks their signatures.)"""
    _fid, _offset, length = write_andx_request(request)
    (_proto, _cmd, _status, flags, flags2, pid_high, _sig, _reserved, tid, pid_low, uid, mid) = (
        _HEADER.unpack_from(request)
    )
    header = _HEADER.pack(
        PROTOCOL_ID,
        SMB_COM_WRITE_ANDX,
        0,
        flags | SMB_FLAGS_REPLY,
        flags2 & ~SMB_FLAGS2_SMB_SECURITY_SIGNATURE,
        pid_high,
        bytes(8),
        0,
        tid,
        pid_low,
        uid,
        mid,
    )
    return header + _WRITE_ANDX_RESPONSE.pack(
        6, NO_ANDX_COMMAND, 0, 0, length & 0xFFFF, 0xFFFF, length >> 16, 0, 0
    )


def flush_parameters(fid: int) -> bytes:
    """The parameter words of an SMB_COM_FLUSH request (2.2.4.6.1): the FID (no data)."""
    return struct.pack("<H", fid)
