"""``smb_echo``: an SMB ECHO (SMB2 ECHO, [MS-SMB2] 2.2.28; SMB1 SMB_COM_ECHO) on an
established session, answered by the server's process for that connection."""

from __future__ import annotations

from harness.clients.session import Session


class EchoProbe:
    name = "smb_echo"

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self) -> None:
        pass

    def invoke(self) -> None:
        if not self.session.smb.echo():
            raise ConnectionError("echo answered with an error status")

    def close(self) -> None:
        pass
