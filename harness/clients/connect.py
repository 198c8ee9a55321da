"""Reaching an SMB server: connect and negotiate exactly the dialect asked for, over the
transport asked for, and log in with NTLMv2 only; or only ask whether the server offers a
dialect (``offers``). harness.clients.session builds a session on top of this.

Transport ``nbt``: TCP to the endpoint's NBT port with a NetBIOS SESSION REQUEST first;
``tcp``: direct TCP to its SMB port (445), no session request. impacket decides by the port
number alone (a session request only to 139), so the choice is made explicit here for any
port. An exact dialect asked for is the only one offered, and the one negotiated is checked
against it (never a silent fallback); ``any`` (or None) offers every SMB 2/3 dialect in one
SMB2 NEGOTIATE and takes what the server picks. The server is called by its NetBIOS name, never
'*SMBSERVER' (which makes impacket send a hidden NBSTAT first). Errors become one-line
messages that never contain the password.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from impacket import nmb, smb
from impacket.smb3 import SMB3
from impacket.smb3 import SessionError as Smb3SessionError
from impacket.smb3structs import (
    SMB2_DIALECT_002,
    SMB2_DIALECT_21,
    SMB2_DIALECT_30,
    SMB2_DIALECT_302,
    SMB2_DIALECT_311,
)
from impacket.smbconnection import SessionError, SMBConnection

from harness import dialects
from harness.errors import InfraError
from harness.server import Endpoint

# Exact dialect -> what impacket's preferredDialect takes (offered alone in the NEGOTIATE).
IMPACKET_DIALECTS = {
    "nt1": smb.SMB_DIALECT,
    "2.0.2": SMB2_DIALECT_002,
    "2.1": SMB2_DIALECT_21,
    "3.0": SMB2_DIALECT_30,
    "3.1.1": SMB2_DIALECT_311,
}
# Every accepted name (aliases too) -> impacket's value. ``any`` or no dialect (a target's
# login check): every SMB 2/3 dialect, never SMB1 (see _negotiate).
DIALECTS = {
    name: IMPACKET_DIALECTS[dialects.exact(name)]
    for name in dialects.DIALECTS
    if dialects.exact(name) != dialects.ANY
}
NEGOTIATED = {**{v: k for k, v in IMPACKET_DIALECTS.items()}, SMB2_DIALECT_302: "3.0.2"}


def negotiated_name(value) -> str:
    """impacket's getDialect() as a name of harness.dialects ('3.1.1', 'nt1')."""
    return NEGOTIATED.get(value, str(value))


def transport_port(endpoint: Endpoint, transport: str) -> int:
    return endpoint.smb_port if transport == "tcp" else endpoint.nbt_port


# A shared prober's threads (harness.worker) connect at once: one at a time through the
# module-wide setting below.
_SESSION_PORT_LOCK = threading.Lock()


@contextmanager
def _session_request(send: bool, port: int):
    """impacket sends an NBT SESSION REQUEST iff the port equals nmb.NETBIOS_SESSION_PORT
    (read when the connection is made): set it so that it does exactly when asked to, for
    one connection at a time."""
    with _SESSION_PORT_LOCK:
        saved = nmb.NETBIOS_SESSION_PORT
        nmb.NETBIOS_SESSION_PORT = port if send else -1
        try:
            yield
        finally:
            nmb.NETBIOS_SESSION_PORT = saved


def describe_error(exc: BaseException, endpoint: Endpoint | None = None) -> str:
    """One line for an impacket/socket error, with any password masked."""
    if isinstance(exc, SessionError):
        msg = exc.getErrorString()
        text = f"{msg[0]}: {msg[1]}" if isinstance(msg, tuple) else str(msg)
    elif (
        isinstance(exc, nmb.NetBIOSError)
        and exc.error_class == nmb.ERRCLASS_OS
        and isinstance(exc.error_code, int)
    ):  # a socket error, by its errno
        text = f"NetBIOSError: {exc.error_msg}: {os.strerror(exc.error_code)}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    if endpoint and endpoint.password:
        text = text.replace(endpoint.password, "****")
    return text[:300]


class NotOffered(InfraError):
    """The server answered the NEGOTIATE, with something else than the dialect asked for
    (an error status, no common dialect, another dialect, SMB1 without extended security).
    Every other failure (refused, reset, timed out, closed) is a network error: InfraError."""


# Why an SMB1 server without extended security is never logged in to: impacket would send
# the password in plain text (no challenge) or as an LM/NTLMv1 response.
WEAK_SMB1 = (
    "the server negotiated NT1 without extended security (NTLMSSP); refused: a login "
    "would send the password in plain text or as an LM/NTLMv1 response"
)


def _answered(exc: BaseException) -> bool:
    """The NEGOTIATE failed because of what the server answered, not the network."""
    return isinstance(
        exc, (SessionError, smb.SessionError, smb.UnsupportedFeature, Smb3SessionError)
    )


class _SMB3OfClient(SMB3):
    """impacket's SMB3 negotiating with a ClientGuid of our choosing (impacket draws a random
    one in __init__, just before it negotiates): a durable v2 handle is reclaimed only by the
    client that opened it ([MS-SMB2] 3.3.5.9.12: Open.ClientGuid)."""

    client_guid: str | bytes = ""

    def negotiateSession(self, preferredDialect=None, negSessionResponse=None):
        self.ClientGuid = self.client_guid
        return super().negotiateSession(preferredDialect, negSessionResponse)


def _negotiate(
    endpoint: Endpoint,
    client_name: str,
    timeout_s: float,
    dialect: str | None,
    port: int,
    client_guid: str | bytes | None = None,
) -> SMBConnection:
    """impacket's SMBConnection, negotiated. ``dialect`` None or ``any``: every SMB 2/3
    dialect in one SMB2 NEGOTIATE (never SMB1: impacket's own negotiation would offer NT1 too).
    ``client_guid``: the SMB2 NEGOTIATE's ClientGuid (else impacket's random one)."""
    exact = dialect is not None and dialects.exact(dialect) != dialects.ANY
    if exact and dialect and client_guid is None:  # impacket's negotiation (SMB1 dialects too)
        return SMBConnection(
            remoteName=endpoint.netbios_name,
            remoteHost=endpoint.host,
            myName=client_name[:15].upper(),
            sess_port=port,
            timeout=timeout_s,
            preferredDialect=DIALECTS[dialect],
        )
    smb3 = (
        SMB3
        if client_guid is None
        else type("SMB3OfClient", (_SMB3OfClient,), {"client_guid": client_guid})
    )
    return SMBConnection(
        existingConnection=smb3(
            endpoint.netbios_name,
            endpoint.host,
            client_name[:15].upper(),
            nmb.TYPE_SERVER,
            port,
            timeout_s,
            preferredDialect=DIALECTS[dialect] if exact and dialect else None,
        )
    )


def connect(
    endpoint: Endpoint,
    client_name: str,
    timeout_s: float,
    dialect: str | None,
    transport: str,
    encrypt: bool = False,
    client_guid: str | bytes | None = None,
) -> tuple[SMBConnection, str]:
    """Connect and negotiate (no login): the connection and the dialect negotiated.
    NotOffered (one line) when the server answers the NEGOTIATE without the dialect asked
    for, or offers SMB1 without extended security; InfraError on a network error.
    ``encrypt``: let impacket encrypt an SMB 3.x session (else only when the server demands
    it: see open_session). ``client_guid``: the ClientGuid to negotiate with (SMB 2/3 only:
    a reconnect as the same client)."""
    if dialect is not None and dialects.exact(dialect) == dialects.ANY:
        dialect = None  # the server picks
    port = transport_port(endpoint, transport)
    how = f"{endpoint.host}:{port} ({transport}"
    how += f", SMB {dialects.exact(dialect)})" if dialect else ")"
    try:
        with _session_request(transport == "nbt", port):
            conn = _negotiate(endpoint, client_name, timeout_s, dialect, port, client_guid)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; one line
        error = NotOffered if _answered(exc) else InfraError
        raise error(f"connect to {how} failed: {describe_error(exc, endpoint)}") from None
    got = negotiated_name(conn.getDialect())
    server = conn.getSMBServer()
    if isinstance(server, smb.SMB) and not (
        server._dialects_parameters["Capabilities"] & smb.SMB.CAP_EXTENDED_SECURITY
    ):
        drop_socket(conn)
        raise NotOffered(f"connect to {how}: {WEAK_SMB1}")
    if not encrypt:
        signed_only(server)
    if dialect and got != dialects.exact(dialect):
        drop_socket(conn)
        raise NotOffered(
            f"connect to {how}: the server negotiated {got}, not the dialect asked for"
        )
    return conn, got


def signed_only(server) -> None:
    """impacket encrypts every SMB 3.x session the server could encrypt (AES-CCM in Python,
    slow); like a Windows client, ours encrypt only what the server requires, so 3.x sessions
    are signed, not encrypted, and the prebuilt echo and the session pools work on them.
    Before the login."""
    state = getattr(server, "_Connection", None)
    if isinstance(state, dict):
        state["SupportsEncryption"] = False


def login(conn: SMBConnection, endpoint: Endpoint) -> None:
    """NTLMSSP with NTLMv2 only: impacket's fallback to NTLMv1 (and, on SMB1 without
    extended security, to LM or a plain-text password) is off."""
    conn.login(endpoint.username, endpoint.password, endpoint.domain, ntlmFallback=False)


def drop_socket(conn: SMBConnection) -> None:
    try:
        conn.getSMBServer().get_socket().close()
    except Exception:  # noqa: BLE001 best effort: the connection may be half gone
        pass


def server_demands_encryption(conn: SMBConnection) -> bool:
    """The server's SESSION_SETUP answer asked for encryption (SMB2_SESSION_FLAG_ENCRYPT_DATA,
    [MS-SMB2] 2.2.6) on a session impacket was told not to encrypt."""
    server = conn.getSMBServer()
    state = getattr(server, "_Connection", None)
    return (
        isinstance(state, dict)
        and state.get("SupportsEncryption") is False
        and bool(server._Session.get("SessionFlags", 0) & 0x0004)
    )


def offers(endpoint: Endpoint, dialect: str, transport: str, timeout_s: float) -> str | None:
    """Why the server does not give ``dialect`` over ``transport`` (a NEGOTIATE it answered
    with an error or another dialect, SMB1 without extended security), or None. A network
    error (refused, reset, timed out) is an InfraError, never an answer. One connection,
    closed after the NEGOTIATE (a FIN with nothing outstanding)."""
    try:
        conn, _ = connect(endpoint, "NBTHOFFERS", timeout_s, dialect, transport)
    except NotOffered as exc:
        return str(exc)
    drop_socket(conn)
    return None
