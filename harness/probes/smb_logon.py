"""``smb_logon``: a whole logon on a new connection, timed as one operation.

On the wire, per operation: TCP connect; on transport ``nbt`` an NBT SESSION REQUEST (RFC
1002 4.3.2) and its positive response (direct TCP 445 has none); NEGOTIATE offering the
scenario's dialect alone (``any``: every SMB 2/3 dialect, as the clients' sessions do);
SESSION_SETUP with NTLMSSP (two round trips, no fallback to an older authentication:
impacket's ``ntlmFallback=False``); TREE_CONNECT to the share; LOGOFF; then a normal close
(FIN). SMB 1 (NEGOTIATE, SESSION_SETUP_ANDX, TREE_CONNECT_ANDX,
LOGOFF_ANDX), 2 and 3 alike. A server that serves established sessions but makes new logons
wait behind a lost client (its NetBIOS layer, its authentication, its process per
connection) fails here and nowhere else. Each operation costs the server a new connection
(Samba forks an smbd for it, about 4 ms here): the default rate is low.
"""

from __future__ import annotations

import socket

from harness.clients.connect import (
    _negotiate,
    _session_request,
    login,
    server_demands_encryption,
    signed_only,
    transport_port,
)

ENCRYPTED_REFUSED = "the server asked for encryption on an encrypted session"


class LogonProbe:
    name = "smb_logon"

    def __init__(
        self, endpoint, client: str, timeout_s: float, dialect: str | None, transport: str
    ) -> None:
        self.endpoint = endpoint
        self.client_name = f"NBTH-{client}"
        self.timeout_s = timeout_s
        self.dialect = dialect
        self.transport = transport
        self.port = transport_port(endpoint, transport)
        self.encrypt = False  # the server demands encryption (learnt at the first logon)

    @classmethod
    def from_context(cls, ctx) -> LogonProbe:
        return cls(ctx.endpoint, ctx.client, ctx.timeout_s, ctx.dialect, ctx.transport)

    def open(self) -> None:
        pass

    def invoke(self) -> None:
        if self._logon():
            return
        if self.encrypt:
            raise ConnectionError(ENCRYPTED_REFUSED)
        # the server demands encryption (as open_session learns at its first login): from now
        # on every logon offers it; this operation logs on again, encrypted
        self.encrypt = True
        if not self._logon():
            raise ConnectionError(ENCRYPTED_REFUSED)

    def _logon(self) -> bool:
        """One logon and logoff; False if the server asked for encryption that this logon did
        not offer (it is then dropped after SESSION_SETUP)."""
        ep = self.endpoint
        # impacket's own errors pass through: a socket timeout is an unknown outcome (info),
        # anything else a failure (the worker tells them apart)
        with _session_request(self.transport == "nbt", self.port):
            # the scenario's dialect alone; ``any`` (or None): every SMB 2/3 dialect, never SMB1
            conn = _negotiate(ep, self.client_name, self.timeout_s, self.dialect, self.port)
        server = conn.getSMBServer()
        sock = server.get_socket()
        if not self.encrypt:  # signed only, as the clients' sessions
            signed_only(server)
        try:
            login(conn, ep)
            if server_demands_encryption(conn):
                return False
            conn.connectTree(ep.share)  # the logoff ends the tree connect with the session
            conn.logoff()
            return True
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        pass
