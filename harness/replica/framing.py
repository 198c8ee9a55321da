"""NBT session-stream framing for the replica: split a TCP byte stream into frames. Pure code.

On the wire every frame is a 4-byte header and a body (RFC 1002 4.3.1): type (1 byte), then
the length of the body. For SESSION MESSAGE frames (type 0x00, one SMB PDU each) the length is
read as 24 bits, as the direct-TCP transport on port 445 defines it ([MS-SMB2] 2.1: a zero
byte and a 3-byte length) and as Samba reads it on port 139 too (large SMB2 reads and writes
exceed the 17 bits of RFC 1002). Every other type is parsed strictly by
:func:`harness.packets.nbt.parse_session_header` (17-bit length, known types only).

A stream whose header does not parse (an unknown type, reserved flag bits) is not NBT: the
tracker then turns *opaque* and reports nothing more, so the relay still forwards it byte for
byte but counts no messages on it.

:func:`smb_message_kind` peeks at the first bytes of a SESSION MESSAGE body to tell requests
and their responses apart from messages that have no counterpart (an SMB2 CANCEL, an interim
STATUS_PENDING response, an oplock break notification); the relay uses it to count requests
still waiting for their answer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from harness.packets.nbt import SESSION_HEADER_LEN, SESSION_MESSAGE, parse_session_header

# How many body bytes of each frame the tracker keeps for smb_message_kind: the SMB1 header
# (32 bytes) plus the LOCKING_ANDX words up to NumberOfRequestedLocks ([MS-CIFS] 2.2.4.32.1).
PEEK_LEN = 49


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame: its NBT type, body length, and the first bytes of its body."""

    packet_type: int
    length: int
    head: bytes  # the first min(length, PEEK_LEN) bytes of the body


def frame_header(header: bytes) -> tuple[int, int]:
    """Return (type, body length) of a 4-byte frame header; raise MalformedPacket if not NBT.

    ``00 01 00 2a`` is a SESSION MESSAGE of 0x1002a bytes; ``81 00 00 44`` a SESSION REQUEST
    of 68 bytes; ``85 00 00 00`` a keep-alive.
    """
    if len(header) == SESSION_HEADER_LEN and header[0] == SESSION_MESSAGE:
        return SESSION_MESSAGE, int.from_bytes(header[1:4], "big")
    return parse_session_header(header)


class FrameTracker:
    """Incremental framer for one direction of one TCP connection.

    Feed it every chunk as it arrives with :meth:`feed`; it returns the frames completed by
    that chunk, in order, and remembers a frame (or a header) left incomplete at the end of the
    chunk. It never copies bodies: only the first ``peek_len`` bytes of each are kept.
    """

    __slots__ = ("_head", "_header", "_left", "_length", "_peek_len", "_type", "ends", "opaque")

    def __init__(self, peek_len: int = PEEK_LEN) -> None:
        self._header = b""  # bytes of a header received so far (0-3 when between frames)
        self._type = 0
        self._length = 0
        self._left = 0  # body bytes still to come of the current frame
        self._head = b""
        self._peek_len = peek_len
        self.opaque = False  # the stream did not parse as NBT; nothing more is reported
        self.ends: list[int] = []  # after feed(): where in its chunk each returned frame ended

    @property
    def incomplete(self) -> bool:
        """True while part of a frame (header or body) has arrived and the rest has not."""
        return not self.opaque and (self._left > 0 or len(self._header) > 0)

    @property
    def pending_type(self) -> int | None:
        """The NBT type of the incomplete frame, if its header byte has arrived."""
        if self.opaque or not self.incomplete:
            return None
        return self._header[0] if self._header else self._type

    def feed(self, data: bytes) -> list[Frame]:
        """Consume one chunk of the stream; return the frames it completed."""
        frames: list[Frame] = []
        ends: list[int] = []
        self.ends = ends
        if self.opaque:
            return frames
        pos, end = 0, len(data)
        while pos < end:
            left = self._left
            if left:
                take = min(left, end - pos)
                want_head = self._peek_len - len(self._head)
                if want_head > 0:
                    self._head += data[pos : pos + min(take, want_head)]
                pos += take
                self._left = left - take
                if not self._left:
                    frames.append(Frame(self._type, self._length, bytes(self._head)))
                    ends.append(pos)
                    self._head = b""
                continue
            header = self._header + data[pos : pos + SESSION_HEADER_LEN - len(self._header)]
            pos += len(header) - len(self._header)
            if len(header) < SESSION_HEADER_LEN:
                self._header = header
                break
            self._header = b""
            try:
                packet_type, length = frame_header(header)
            except ValueError:  # MalformedPacket: not an NBT stream
                self.opaque = True
                return frames
            if length:
                self._type, self._length, self._left = packet_type, length, length
            else:
                frames.append(Frame(packet_type, 0, b""))
                ends.append(pos)
        return frames


# --- what a SESSION MESSAGE carries --------------------------------------------------------

MessageKind = Literal["request", "response", "no_reply", "unsolicited"]

SMB1_MAGIC = b"\xffSMB"
SMB2_MAGIC = b"\xfeSMB"
SMB1_FLAGS_REPLY = 0x80  # [MS-CIFS] 2.2.3.1 Flags
SMB1_COM_LOCKING_ANDX = 0x24
SMB1_LOCKING_OPLOCK_RELEASE = 0x02  # [MS-CIFS] 2.2.4.32.1 TypeOfLock
# Requests the server never answers ([MS-CIFS] 2.2.4): TRANSACTION_SECONDARY,
# TRANSACTION2_SECONDARY, NT_TRANSACT_SECONDARY, NT_CANCEL.
SMB1_NO_REPLY_COMMANDS = frozenset({0x26, 0x33, 0xA1, 0xA4})
SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001  # [MS-SMB2] 2.2.1.1 Flags
SMB2_FLAGS_ASYNC_COMMAND = 0x00000002
SMB2_CANCEL = 0x000C
STATUS_PENDING = 0x00000103
SMB2_UNSOLICITED_MESSAGE_ID = 0xFFFFFFFFFFFFFFFF  # [MS-SMB2] 3.3.4.6 oplock/lease break


SMB2_CREATE = 0x0005
SMB2_WRITE = 0x0009


SMB1_COM_OPEN_ANDX = 0x2D
SMB1_COM_NT_CREATE_ANDX = 0xA2


def is_create_request(head: bytes) -> bool:
    """A client message that opens a file: SMB2 CREATE, SMB1 NT_CREATE_ANDX or OPEN_ANDX."""
    if head[:4] == SMB1_MAGIC and len(head) >= 5:
        return head[4] in (SMB1_COM_NT_CREATE_ANDX, SMB1_COM_OPEN_ANDX)
    return smb2_command(head) == SMB2_CREATE


# A new logon: NEGOTIATE, SESSION_SETUP, TREE_CONNECT ([MS-SMB2] 2.2.3, 2.2.5, 2.2.9;
# [MS-CIFS] SMB_COM_NEGOTIATE, SESSION_SETUP_ANDX, TREE_CONNECT_ANDX, TREE_CONNECT).
SMB2_LOGON_COMMANDS = frozenset({0x0000, 0x0001, 0x0003})
SMB1_LOGON_COMMANDS = frozenset({0x72, 0x73, 0x75, 0x70})
SMB2_LOCK = 0x000A
SMB1_COM_LOCK_BYTE_RANGE = 0x0C


def is_logon_request(head: bytes) -> bool:
    """A client message of a new logon: NEGOTIATE, SESSION_SETUP or TREE_CONNECT (SMB 1, 2, 3)."""
    if head[:4] == SMB1_MAGIC and len(head) >= 5:
        return head[4] in SMB1_LOGON_COMMANDS
    return smb2_command(head) in SMB2_LOGON_COMMANDS


def is_lock_request(head: bytes) -> bool:
    """A byte-range lock or unlock: SMB2 LOCK, SMB1 LOCK_BYTE_RANGE or LOCKING_ANDX (but not
    an oplock release that asks for no lock, which the server does not answer)."""
    if head[:4] == SMB1_MAGIC and len(head) >= 5:
        if head[4] == SMB1_COM_LOCK_BYTE_RANGE:
            return True
        return head[4] == SMB1_COM_LOCKING_ANDX and smb_message_kind(head, True) == "request"
    return smb2_command(head) == SMB2_LOCK


def smb2_command(head: bytes) -> int | None:
    """The SMB2 command of a SESSION MESSAGE body's first bytes, None if it is no SMB2 header."""
    if head[:4] == SMB2_MAGIC and len(head) >= 14:
        return struct.unpack_from("<H", head, 12)[0]
    return None


def smb_message_kind(head: bytes, from_client: bool) -> MessageKind:
    """Classify a SESSION MESSAGE by the first bytes of its body (its SMB header).

    - From the client: ``request``, or ``no_reply`` for requests the server never answers
      (SMB2 CANCEL; SMB1 NT_CANCEL, the *_SECONDARY transaction parts, an oplock-release
      LOCKING_ANDX with no locks).
    - From the server: ``response``, or ``unsolicited`` for an SMB2 interim response (ASYNC
      flag and STATUS_PENDING: the final response follows later), an SMB2 oplock/lease break
      notification (MessageId 0xFFFFFFFFFFFFFFFF) or an SMB1 message without the reply flag
      (an oplock break sent as a LOCKING_ANDX request).

    Anything else (encrypted or compressed SMB3 transforms, non-SMB payloads, a body shorter
    than the header) counts by direction: request from the client, response from the server.
    """
    magic = head[:4]
    if magic == SMB2_MAGIC and len(head) >= 32:
        (status,) = struct.unpack_from("<I", head, 8)
        (command,) = struct.unpack_from("<H", head, 12)
        (flags,) = struct.unpack_from("<I", head, 16)
        (message_id,) = struct.unpack_from("<Q", head, 24)
        if from_client:
            return "no_reply" if command == SMB2_CANCEL else "request"
        if message_id == SMB2_UNSOLICITED_MESSAGE_ID:
            return "unsolicited"
        if flags & SMB2_FLAGS_ASYNC_COMMAND and status == STATUS_PENDING:
            return "unsolicited"
        return "response"
    if magic == SMB1_MAGIC and len(head) >= 32:
        command, flags = head[4], head[9]
        if from_client:
            if command in SMB1_NO_REPLY_COMMANDS:
                return "no_reply"
            if command == SMB1_COM_LOCKING_ANDX and len(head) >= 49 and head[32] == 8:
                type_of_lock = head[39]
                unlocks, locks = struct.unpack_from("<HH", head, 45)
                if type_of_lock & SMB1_LOCKING_OPLOCK_RELEASE and unlocks == 0 and locks == 0:
                    return "no_reply"
            return "request"
        return "response" if flags & SMB1_FLAGS_REPLY else "unsolicited"
    return "request" if from_client else "response"
