"""One impacket SMB session: connect, negotiate, session setup, tree connect.

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
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from impacket import nmb, smb
from impacket.smb3 import SMB3
from impacket.smb3 import SessionError as Smb3SessionError
from impacket.smb3structs import (
    FILE_DIRECTORY_FILE,
    FILE_LIST_DIRECTORY,
    FILE_NOTIFY_CHANGE_FILE_NAME,
    FILE_OPEN,
    FILE_OPEN_IF,
    FILE_OVERWRITE_IF,
    FILE_SHARE_READ,
    FILE_SHARE_WRITE,
    GENERIC_READ,
    GENERIC_WRITE,
    SMB2_CHANGE_NOTIFY,
    SMB2_DIALECT_002,
    SMB2_DIALECT_21,
    SMB2_DIALECT_30,
    SMB2_DIALECT_302,
    SMB2_DIALECT_311,
    SMB2_READ,
    SMB2ChangeNotify,
    SMB2Read,
)
from impacket.smbconnection import SessionError, SMBConnection

from harness import dialects
from harness.errors import InfraError
from harness.server import Endpoint

# Exact dialect -> what impacket's preferredDialect takes (offered alone in the NEGOTIATE).
IMPACKET_DIALECTS = {"nt1": smb.SMB_DIALECT, "2.0.2": SMB2_DIALECT_002, "2.1": SMB2_DIALECT_21,
                     "3.0": SMB2_DIALECT_30, "3.1.1": SMB2_DIALECT_311}
# Every accepted name (aliases too) -> impacket's value. ``any`` or no dialect (a target's
# login check): every SMB 2/3 dialect, never SMB1 (see _negotiate).
DIALECTS = {name: IMPACKET_DIALECTS[dialects.exact(name)] for name in dialects.DIALECTS
            if dialects.exact(name) != dialects.ANY}
NEGOTIATED = {**{v: k for k, v in IMPACKET_DIALECTS.items()}, SMB2_DIALECT_302: "3.0.2"}
SMB1_READ_BYTES = 61440  # one READ_ANDX without large-read negotiation (impacket's buffer)
# The largest READ sent, whatever the server grants (Windows grants 8 MiB): a NEGOTIATE that
# grants 4 GiB would otherwise make one READ charge 65,536 credits (the field holds 65,535).
MAX_READ_BYTES = 8 * 1024 * 1024
SMALL_MTU_DIALECTS = ("2.0.2",)  # no multi-credit requests: one READ at most 64 KiB


def negotiated_name(value) -> str:
    """impacket's getDialect() as a name of harness.dialects ('3.1.1', 'nt1')."""
    return NEGOTIATED.get(value, str(value))


def read_size_bytes(dialect: str, max_read_size) -> int:
    """The READ size to use on SMB 2/3: what the server granted (64 KiB if it said nothing
    usable), at most MAX_READ_BYTES, and at most 64 KiB on 2.0.2 (no large MTU)."""
    granted = max_read_size if isinstance(max_read_size, int) and max_read_size > 0 else 65536
    return min(granted, 65536 if dialect in SMALL_MTU_DIALECTS else MAX_READ_BYTES)


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
    elif (isinstance(exc, nmb.NetBIOSError) and exc.error_class == nmb.ERRCLASS_OS
          and isinstance(exc.error_code, int)):  # a socket error, by its errno
        text = f"NetBIOSError: {exc.error_msg}: {os.strerror(exc.error_code)}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    if endpoint and endpoint.password:
        text = text.replace(endpoint.password, "****")
    return text[:300]


@dataclass
class Session:
    conn: SMBConnection
    tree_id: int
    endpoint: Endpoint
    dialect: str = ""  # negotiated, a name of harness.dialects ('3.1.1', 'nt1')
    transport: str = dialects.DEFAULT_TRANSPORT
    port: int = 139

    @property
    def is_smb1(self) -> bool:
        return isinstance(self.smb, smb.SMB)

    @property
    def encrypted(self) -> bool:
        """SMB 3.x traffic encrypted (only where the server demanded it)."""
        state = getattr(self.smb, "_Session", None) or {}
        return bool(state.get("SessionFlags", 0) & 0x0004)

    @property
    def smb(self):
        """The dialect object (impacket SMB or SMB3), which owns the socket."""
        return self.conn.getSMBServer()

    def smb2_packet(self, command: int):
        """An SMB2 request header for ``command`` on this session's tree; the caller sets
        ``packet["Data"]`` and sends it with ``self.smb.sendSMB``."""
        packet = self.smb.SMB_PACKET()
        packet["Command"] = command
        packet["TreeID"] = self.tree_id
        return packet

    @property
    def sock(self) -> socket.socket:
        return self.smb.get_socket()

    def echo(self) -> None:
        """An echo through impacket, answered. SMB1 has no message ids to match answers by:
        answers to earlier requests (outstanding READ_ANDX of a drop) are read past."""
        if not self.is_smb1:
            self.smb.echo()
            return
        packet = smb.NewSMBPacket()
        command = smb.SMBCommand(smb.SMB.SMB_COM_ECHO)
        command["Parameters"] = smb.SMBEcho_Parameters()
        command["Data"] = smb.SMBEcho_Data()
        command["Parameters"]["EchoCount"] = 1
        command["Data"]["Data"] = ""
        packet.addCommand(command)
        self.smb.sendSMB(packet)
        while True:
            answer = self.smb.recvSMB()  # impacket's timeout per answer
            if answer["Command"] == smb.SMB.SMB_COM_ECHO:
                answer.isValidAnswer(smb.SMB.SMB_COM_ECHO)
                return

    def set_timeout(self, timeout_s: float) -> float:
        """Set impacket's per-answer timeout (SMB1 and SMB 2/3 keep it apart); the old one."""
        if self.is_smb1:
            return self.smb.set_timeout(timeout_s)
        saved, self.smb._timeout = self.smb._timeout, timeout_s
        return saved

    def local_addr(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def open_file(self, name: str, overwrite: bool = True) -> int:
        return self.conn.createFile(
            self.tree_id, name, desiredAccess=GENERIC_READ | GENERIC_WRITE,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE,
            creationDisposition=FILE_OVERWRITE_IF if overwrite else FILE_OPEN_IF)

    def max_read_bytes(self) -> int:
        """The largest READ the server allows (64 KiB unless large MTU was negotiated;
        SMB1: one READ_ANDX of SMB1_READ_BYTES)."""
        if self.is_smb1:
            return SMB1_READ_BYTES
        return read_size_bytes(self.dialect, self.smb._Connection.get("MaxReadSize"))

    def send_read_nowait(self, file_id, offset: int, length: int) -> int:
        """Send a READ and do not wait for the answer (it stays outstanding).

        SMB 2/3: an SMB2 READ; returns the MessageID. The credit window is advanced by the
        request's credit charge, as impacket would only do on reading the answer.
        SMB1: an SMB_COM_READ_ANDX of at most SMB1_READ_BYTES ([MS-CIFS] 2.2.4.42); returns 0.
        """
        if self.is_smb1:
            packet = smb.NewSMBPacket()
            packet["Tid"] = self.tree_id
            read = smb.SMBCommand(smb.SMB.SMB_COM_READ_ANDX)
            read["Parameters"] = smb.SMBReadAndX_Parameters()
            read["Parameters"]["Fid"] = file_id
            read["Parameters"]["Offset"] = offset
            read["Parameters"]["MaxCount"] = min(length, SMB1_READ_BYTES)
            packet.addCommand(read)
            self.smb.sendSMB(packet)
            return 0
        dialect = self.smb
        packet = self.smb2_packet(SMB2_READ)
        charge = 1 + (length - 1) // 65536
        packet["CreditCharge"] = charge
        read = SMB2Read()
        read["Padding"] = 0x50
        read["FileID"] = file_id
        read["Length"] = length
        read["Offset"] = offset
        packet["Data"] = read
        message_id = dialect.sendSMB(packet)
        dialect._Connection["SequenceWindow"] += charge - 1
        return message_id

    def open_watch_dir(self, name: str):
        """Create (if needed) and open a directory of the client's own, to watch it."""
        try:
            self.conn.createDirectory(self.endpoint.share, name)
        except SessionError:
            pass  # it exists already
        return self.conn.createFile(
            self.tree_id, name, desiredAccess=FILE_LIST_DIRECTORY,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE, creationOption=FILE_DIRECTORY_FILE,
            creationDisposition=FILE_OPEN, fileAttributes=0)

    def send_change_notify_nowait(self, dir_file_id) -> int:
        """Send an SMB2 CHANGE_NOTIFY ([MS-SMB2] 2.2.35) on a directory nobody changes: the
        server answers only STATUS_PENDING (interim), so the request stays outstanding for
        as long as the connection lives. Returns the MessageID."""
        dialect = self.smb
        packet = self.smb2_packet(SMB2_CHANGE_NOTIFY)
        notify = SMB2ChangeNotify()
        notify["OutputBufferLength"] = 4096
        notify["FileID"] = dir_file_id
        notify["CompletionFilter"] = FILE_NOTIFY_CHANGE_FILE_NAME
        packet["Data"] = notify
        return dialect.sendSMB(packet)

    def close(self) -> None:
        """Log off and close: the graceful way out."""
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 a logoff over a dead link raises anything
            try:
                self.sock.close()
            except Exception:  # noqa: BLE001 best effort: the socket may be gone already
                pass


class NotOffered(InfraError):
    """The server answered the NEGOTIATE, with something else than the dialect asked for
    (an error status, no common dialect, another dialect, SMB1 without extended security).
    Every other failure (refused, reset, timed out, closed) is a network error: InfraError."""


# Why an SMB1 server without extended security is never logged in to: impacket would send
# the password in plain text (no challenge) or as an LM/NTLMv1 response.
WEAK_SMB1 = ("the server negotiated NT1 without extended security (NTLMSSP); refused: a login "
             "would send the password in plain text or as an LM/NTLMv1 response")


def _answered(exc: BaseException) -> bool:
    """The NEGOTIATE failed because of what the server answered, not the network."""
    return isinstance(exc, (SessionError, smb.SessionError, smb.UnsupportedFeature,
                            Smb3SessionError))


def _negotiate(endpoint: Endpoint, client_name: str, timeout_s: float, dialect: str | None,
               port: int) -> SMBConnection:
    """impacket's SMBConnection, negotiated. ``dialect`` None or ``any``: every SMB 2/3
    dialect in one SMB2 NEGOTIATE (never SMB1: impacket's own negotiation would offer NT1 too)."""
    if dialect is not None and dialects.exact(dialect) != dialects.ANY:
        return SMBConnection(remoteName=endpoint.netbios_name, remoteHost=endpoint.host,
                             myName=client_name[:15].upper(), sess_port=port,
                             timeout=timeout_s, preferredDialect=DIALECTS[dialect])
    smb2 = SMB3(endpoint.netbios_name, endpoint.host, client_name[:15].upper(), nmb.TYPE_SERVER,
                port, timeout_s)
    return SMBConnection(existingConnection=smb2)


def connect(endpoint: Endpoint, client_name: str, timeout_s: float, dialect: str | None,
            transport: str, encrypt: bool = False) -> tuple[SMBConnection, str]:
    """Connect and negotiate (no login): the connection and the dialect negotiated.
    NotOffered (one line) when the server answers the NEGOTIATE without the dialect asked
    for, or offers SMB1 without extended security; InfraError on a network error.
    ``encrypt``: let impacket encrypt an SMB 3.x session (else only when the server demands
    it: see open_session)."""
    if dialect is not None and dialects.exact(dialect) == dialects.ANY:
        dialect = None  # the server picks
    port = transport_port(endpoint, transport)
    how = f"{endpoint.host}:{port} ({transport}"
    how += f", SMB {dialects.exact(dialect)})" if dialect else ")"
    try:
        with _session_request(transport == "nbt", port):
            conn = _negotiate(endpoint, client_name, timeout_s, dialect, port)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; one line
        error = NotOffered if _answered(exc) else InfraError
        raise error(f"connect to {how} failed: {describe_error(exc, endpoint)}") from None
    got = negotiated_name(conn.getDialect())
    server = conn.getSMBServer()
    if isinstance(server, smb.SMB) and not (
            server._dialects_parameters["Capabilities"] & smb.SMB.CAP_EXTENDED_SECURITY):
        _drop_socket(conn)
        raise NotOffered(f"connect to {how}: {WEAK_SMB1}")
    state = getattr(server, "_Connection", None)
    if isinstance(state, dict) and not encrypt:
        # impacket encrypts every SMB 3.x session the server could encrypt (AES-CCM in
        # Python, slow); like a Windows client, ours encrypt only
        # what the server requires, so 3.x sessions are signed, not encrypted, and the
        # prebuilt echo and the session pools work on them. Read before the login.
        state["SupportsEncryption"] = False
    if dialect and got != dialects.exact(dialect):
        _drop_socket(conn)
        raise NotOffered(f"connect to {how}: the server negotiated {got}, "
                         "not the dialect asked for")
    return conn, got


def login(conn: SMBConnection, endpoint: Endpoint) -> None:
    """NTLMSSP with NTLMv2 only: impacket's fallback to NTLMv1 (and, on SMB1 without
    extended security, to LM or a plain-text password) is off."""
    conn.login(endpoint.username, endpoint.password, endpoint.domain, ntlmFallback=False)


def _drop_socket(conn: SMBConnection) -> None:
    try:
        conn.getSMBServer().get_socket().close()
    except Exception:  # noqa: BLE001 best effort: the connection may be half gone
        pass


def _server_demands_encryption(conn: SMBConnection) -> bool:
    """The server's SESSION_SETUP answer asked for encryption (SMB2_SESSION_FLAG_ENCRYPT_DATA,
    [MS-SMB2] 2.2.6) on a session impacket was told not to encrypt."""
    server = conn.getSMBServer()
    state = getattr(server, "_Connection", None)
    return (isinstance(state, dict) and state.get("SupportsEncryption") is False
            and bool(server._Session.get("SessionFlags", 0) & 0x0004))


def offers(endpoint: Endpoint, dialect: str, transport: str, timeout_s: float) -> str | None:
    """Why the server does not give ``dialect`` over ``transport`` (a NEGOTIATE it answered
    with an error or another dialect, SMB1 without extended security), or None. A network
    error (refused, reset, timed out) is an InfraError, never an answer. One connection,
    closed after the NEGOTIATE (a FIN with nothing outstanding)."""
    try:
        conn, _ = connect(endpoint, "NBTHOFFERS", timeout_s, dialect, transport)
    except NotOffered as exc:
        return str(exc)
    _drop_socket(conn)
    return None


def open_session(endpoint: Endpoint, client_name: str, timeout_s: float,
                 dialect: str | None = None, transport: str = dialects.DEFAULT_TRANSPORT) -> Session:
    """Connect, negotiate ``dialect`` (exactly; ``any``/None: what the server picks) over
    ``transport``, log in and connect the share; InfraError with one line on failure."""
    conn, got = connect(endpoint, client_name, timeout_s, dialect, transport)
    port = transport_port(endpoint, transport)
    stage = "login"
    try:
        login(conn, endpoint)
        if _server_demands_encryption(conn):  # again, this time encrypted
            _drop_socket(conn)
            conn, got = connect(endpoint, client_name, timeout_s, dialect, transport, encrypt=True)
            login(conn, endpoint)
        stage = "tree connect"
        tree_id = conn.connectTree(endpoint.share)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; one InfraError line
        _drop_socket(conn)
        raise InfraError(f"{stage} to {endpoint.host}:{port} ({transport}, {got}) failed: "
                         f"{describe_error(exc, endpoint)}") from None
    session = Session(conn, tree_id, endpoint, got, transport, port)
    session.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return session


def client_file_name(client: str) -> str:
    from harness.clients.scratch import scratch_name  # here: scratch imports this module

    return f"{scratch_name(client)}.dat"
