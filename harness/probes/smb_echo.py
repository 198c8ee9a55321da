"""``smb_echo``: an SMB ECHO (SMB2 ECHO, [MS-SMB2] 2.2.28; SMB1 SMB_COM_ECHO) on an
established session, answered by the server's process for that connection.

On SMB 2 and 3 the request is prebuilt (packets.smb2: only the MessageId changes) and written
straight to the session's socket, so the probe measures the server, not impacket's packet
building and signing. The MessageId comes from impacket's
sequence window, which is advanced, so the session stays usable by impacket. SMB1 and
encrypted sessions use impacket's echo.
"""

from __future__ import annotations

import time

from harness.clients.session import Session
from harness.errors import ProbeTimeout
from harness.packets.nbt import SESSION_KEEP_ALIVE, parse_session_header, session_message_header
from harness.packets.smb2 import SMB2_ECHO, STATUS_SUCCESS, echo_request, parse_header
from harness.probes.nbt_session import recv_exact
from harness.probes.timing import recv_polling

UNSOLICITED_ID = 0xFFFFFFFFFFFFFFFF  # [MS-SMB2] 3.3.4.6: an oplock break notification's MessageId


class EchoProbe:
    name = "smb_echo"

    def __init__(self, session: Session, timeout_s: float = 2.0) -> None:
        self.session = session
        self.timeout_s = timeout_s
        self._window: dict | None = None  # impacket's connection state, for a raw echo

    @classmethod
    def from_context(cls, ctx) -> EchoProbe:
        return cls(ctx.session, ctx.timeout_s)

    def open(self) -> None:
        smb = self.session.smb
        state = getattr(smb, "_Connection", None)
        session_state = getattr(smb, "_Session", None) or {}
        encrypted = bool(
            session_state.get("SessionFlags", 0) & 0x0004
        )  # SMB2_SESSION_FLAG_ENCRYPT_DATA
        if isinstance(state, dict) and "SequenceWindow" in state and not encrypted:
            self._window = state
            self._sock = self.session.sock
            self._framing = session_message_header(len(echo_request(0)))

    @property
    def raw(self) -> bool:
        """The prebuilt echo is used (SMB 2/3, not encrypted): send() and read_answer() work."""
        return self._window is not None

    def invoke(self) -> None:
        if self._window is None:
            if not self.session.smb.echo():
                raise ConnectionError("echo answered with an error status")
            return
        message_id = self.send()
        deadline = time.monotonic() + self.timeout_s
        while not self.read_answer(message_id, deadline):
            pass

    def send(self) -> int:
        """Write a prebuilt echo; its MessageId."""
        window = self._window
        if window is None:
            raise RuntimeError("EchoProbe.send() without a raw echo (see raw)")
        message_id = window["SequenceWindow"]
        window["SequenceWindow"] = message_id + 1
        self._sock.sendall(self._framing + echo_request(message_id))
        return message_id

    def read_answer(self, message_id: int, deadline: float) -> bool:
        """Read one frame: True if it answers ``message_id``, False for anything else (a
        keep-alive, a late answer to an earlier echo that timed out). ProbeTimeout at the
        deadline; ConnectionError for an error status or a closed connection."""
        try:  # the answer's first bytes polled actively (no wake-up), the rest as it comes
            head = recv_polling(self._sock, 4, deadline)
        except TimeoutError:
            raise ProbeTimeout(f"no echo answer within {self.timeout_s:.1f}s") from None
        if not head:
            raise ConnectionError("connection closed while waiting for the echo answer")
        if len(head) < 4:
            head += recv_exact(self._sock, 4 - len(head), deadline, "the echo answer")
        kind, length = parse_session_header(head)
        payload = recv_exact(self._sock, length, deadline, "the echo answer") if length else b""
        if kind == SESSION_KEEP_ALIVE:
            return False
        command, status, answered_id, _flags = parse_header(payload)
        if answered_id == UNSOLICITED_ID:
            return False  # a notification the server sent of its own (an oplock break)
        if answered_id > message_id:  # no late answer: that id was never sent
            raise ConnectionError(
                f"echo {message_id} answered with message id {answered_id}, which was never sent"
            )
        if answered_id != message_id:
            return False  # a late answer to an earlier echo that timed out
        if command != SMB2_ECHO:
            raise ConnectionError(f"answer to echo {message_id} is command {command:#x}")
        if status != STATUS_SUCCESS:
            raise ConnectionError(f"echo answered with status {status:#010x}")
        return True

    def close(self) -> None:
        pass
