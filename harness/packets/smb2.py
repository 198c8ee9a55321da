"""Just enough SMB2 ([MS-SMB2] 2.2.1.2 sync header, 2.2.28/2.2.29 ECHO) for a prebuilt echo
on an established connection. Pure.

An ECHO needs no session ([MS-SMB2] 3.3.5.2.4 skips the session check for it), so it goes
with SessionId 0, unsigned; only the MessageId changes from one echo to the next, which keeps
the probe's own work near nothing while the server's connection process still answers it.
"""

from __future__ import annotations

import struct

PROTOCOL_ID = b"\xfeSMB"
HEADER_BYTES = 64
SMB2_ECHO = 0x000D
SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001
STATUS_SUCCESS = 0
# ProtocolId, StructureSize, CreditCharge, Status, Command, CreditRequest, Flags,
# NextCommand, MessageId, Reserved (ProcessId), TreeId, SessionId, Signature
_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
_ECHO_BODY = struct.pack("<HH", 4, 0)  # StructureSize 4, Reserved


class SMB2Error(ValueError):
    """Bytes that are not the SMB2 answer expected."""


def echo_request(message_id: int) -> bytes:
    """An SMB2 ECHO request (68 bytes, no transport framing): 1 credit charged, 1 asked."""
    return (
        _HEADER.pack(
            PROTOCOL_ID, HEADER_BYTES, 1, 0, SMB2_ECHO, 1, 0, 0, message_id, 0, 0, 0, bytes(16)
        )
        + _ECHO_BODY
    )


def parse_header(data: bytes) -> tuple[int, int, int, int]:
    """(command, status, message_id, flags) of an SMB2 sync header."""
    if len(data) < HEADER_BYTES:
        raise SMB2Error(f"{len(data)} bytes: shorter than an SMB2 header")
    proto, size, _charge, status, command, _credits, flags, _next, mid, *_ = _HEADER.unpack_from(
        data
    )
    if proto != PROTOCOL_ID or size != HEADER_BYTES:
        raise SMB2Error("not an SMB2 header")
    return command, status, mid, flags


SMB2_WRITE = 0x0009
_WRITE_RESPONSE = struct.Struct("<HHIIHH")  # StructureSize 17, Reserved, Count, Remaining, 2x0


def write_request_length(request: bytes) -> int:
    """The Length (bytes to write) of an SMB2 WRITE request ([MS-SMB2] 2.2.21)."""
    command, _status, _mid, _flags = parse_header(request)
    if command != SMB2_WRITE or len(request) < HEADER_BYTES + 8:
        raise SMB2Error("not an SMB2 WRITE request")
    return struct.unpack_from("<I", request, HEADER_BYTES + 4)[0]


def success_response_header(request: bytes, command: int) -> bytes:
    """The SMB2 header of a successful response to ``request`` (its header and more): same
    MessageId, TreeId, SessionId and credit charge, at least one credit granted, unsigned.
    (For the answers the replica gives itself: impacket does not verify the signatures of
    responses.)"""
    if len(request) < HEADER_BYTES:
        raise SMB2Error(f"{len(request)} bytes: shorter than an SMB2 header")
    (
        _proto,
        _size,
        charge,
        _status,
        _command,
        _credits,
        _flags,
        _next,
        mid,
        reserved,
        tree_id,
        session_id,
        _sig,
    ) = _HEADER.unpack_from(request)
    return _HEADER.pack(
        PROTOCOL_ID,
        HEADER_BYTES,
        charge,
        STATUS_SUCCESS,
        command,
        max(1, charge),
        SMB2_FLAGS_SERVER_TO_REDIR,
        0,
        mid,
        reserved,
        tree_id,
        session_id,
        bytes(16),
    )


def fake_write_response(request: bytes) -> bytes:
    """A successful SMB2 WRITE response ([MS-SMB2] 2.2.22) to ``request``, as if the server
    had written all of it (success_response_header's header), Count = the request's Length.
    (For the replica's lost-write control.)"""
    length = write_request_length(request)
    header = success_response_header(request, SMB2_WRITE)
    return header + _WRITE_RESPONSE.pack(17, 0, length, 0, 0, 0) + b"\x00"
