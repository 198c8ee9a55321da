"""Which client WRITE the relay answers itself and never forwards (the lost-write control),
and the answer it gives. Pure: no sockets, no clock.

``nth`` > 0 arms it. Without ``from_host``: the Nth WRITE (SMB2 WRITE or SMB1 WRITE_ANDX)
from any client, counted over every connection, once. With ``from_host`` (an IP address):
only connections from that host count, each on its own: the Nth WRITE of *every* connection
from that host is lost (one relay serves several runs of a victim that connects from its own
lab host). A connection is identified by any hashable key its owner gives (the session).
"""

from __future__ import annotations

from collections.abc import Hashable

from harness.packets import smb1
from harness.packets.smb2 import HEADER_BYTES, fake_write_response, write_request_length
from harness.replica.framing import SMB2_WRITE, smb2_command

_ANY = object()  # the one counter when connections are not counted apart


class WriteLoss:
    def __init__(self, nth: int, from_host: str | None = None) -> None:
        self.nth = nth
        self.from_host = from_host
        self._seen: dict[object, int] = {}
        self._done: set[object] = set()

    def _key(self, conn: Hashable) -> object:
        return _ANY if self.from_host is None else conn

    def armed(self, conn: Hashable, peer_host: str) -> bool:
        """Whether a WRITE on this connection may still be the one to lose (then the relay
        forwards only whole frames on it, to take one out whole)."""
        if not self.nth or (self.from_host is not None and peer_host != self.from_host):
            return False
        return self._key(conn) not in self._done

    def count(self, conn: Hashable, peer_host: str) -> int | None:
        """A WRITE request passes on this connection: the number it had, if it is the one to
        lose; None to forward it."""
        if not self.armed(conn, peer_host):
            return None
        key = self._key(conn)
        n = self._seen[key] = self._seen.get(key, 0) + 1
        if n < self.nth:
            return None
        self._done.add(key)
        self._seen.pop(key, None)
        return n

    def forget(self, conn: Hashable) -> None:
        """The connection ended: drop what was counted for it (per-connection counting)."""
        if self.from_host is not None:
            self._seen.pop(conn, None)
            self._done.discard(conn)


def write_kind(head: bytes) -> str | None:
    """``smb2`` or ``smb1`` when a session message (its first bytes, ``head``) is a WRITE
    request (SMB2 WRITE, SMB1 WRITE_ANDX), else None."""
    if smb2_command(head) == SMB2_WRITE:
        return "smb2"
    return "smb1" if smb1.is_write_andx_request(head) else None


def lost_write_answer(request: bytes, kind: str) -> tuple[bytes, int, int]:
    """What the relay answers for a WRITE it does not forward: the server's success response
    (as one NBT frame), and the offset and length the client asked to write."""
    if kind == "smb2":
        response = fake_write_response(request)
        offset = int.from_bytes(request[HEADER_BYTES + 8 : HEADER_BYTES + 16], "little")
        length = write_request_length(request)
    else:
        response = smb1.fake_write_andx_response(request)
        _fid, offset, length = smb1.write_andx_request(request)
    return len(response).to_bytes(4, "big") + response, offset, length
