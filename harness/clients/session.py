"""One impacket SMB session, logged in with the share connected (``open_session``: on top of
harness.clients.connect, which connects, negotiates and logs in), and what the probes do on
it beyond impacket: raw echoes, READs and CHANGE_NOTIFYs sent without waiting.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from impacket import smb
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
    SMB2_READ,
    SMB2ChangeNotify,
    SMB2Read,
)
from impacket.smbconnection import SessionError, SMBConnection

from harness import dialects
from harness.clients.connect import (
    connect,
    describe_error,
    drop_socket,
    login,
    server_demands_encryption,
    transport_port,
)
from harness.errors import InfraError
from harness.server import Endpoint

SMB1_READ_BYTES = 61440  # one READ_ANDX without large-read negotiation (impacket's buffer)
# The largest READ sent, whatever the server grants (Windows grants 8 MiB): a NEGOTIATE that
# grants 4 GiB would otherwise make one READ charge 65,536 credits (the field holds 65,535).
MAX_READ_BYTES = 8 * 1024 * 1024
SMALL_MTU_DIALECTS = ("2.0.2",)  # no multi-credit requests: one READ at most 64 KiB


def read_size_bytes(dialect: str, max_read_size) -> int:
    """The READ size to use on SMB 2/3: what the server granted (64 KiB if it said nothing
    usable), at most MAX_READ_BYTES, and at most 64 KiB on 2.0.2 (no large MTU)."""
    granted = max_read_size if isinstance(max_read_size, int) and max_read_size > 0 else 65536
    return min(granted, 65536 if dialect in SMALL_MTU_DIALECTS else MAX_READ_BYTES)


@dataclass
class Session:
    conn: SMBConnection
    tree_id: int
    endpoint: Endpoint
    dialect: str = ""  # negotiated, a name of harness.dialects ('3.1.1', 'nt1')
    transport: str = dialects.DEFAULT_TRANSPORT
    port: int = 139
    held: object = None  # the open a holding left (harness.clients.holdings.HeldOpen)

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
            self.tree_id,
            name,
            desiredAccess=GENERIC_READ | GENERIC_WRITE,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE,
            creationDisposition=FILE_OVERWRITE_IF if overwrite else FILE_OPEN_IF,
        )

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
            self.tree_id,
            name,
            desiredAccess=FILE_LIST_DIRECTORY,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE,
            creationOption=FILE_DIRECTORY_FILE,
            creationDisposition=FILE_OPEN,
            fileAttributes=0,
        )

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


def open_session(
    endpoint: Endpoint,
    client_name: str,
    timeout_s: float,
    dialect: str | None = None,
    transport: str = dialects.DEFAULT_TRANSPORT,
    setup_timeout_s: float | None = None,
) -> Session:
    """Connect, negotiate ``dialect`` (exactly; ``any``/None: what the server picks) over
    ``transport``, log in and connect the share; InfraError with one line on failure.
    ``setup_timeout_s`` (if longer): each answer of the set-up may take that long; the
    session's own operations then wait ``timeout_s`` for each answer."""
    operation_timeout_s = timeout_s
    timeout_s = max(timeout_s, setup_timeout_s or 0.0)
    conn, got = connect(endpoint, client_name, timeout_s, dialect, transport)
    port = transport_port(endpoint, transport)
    stage = "login"
    try:
        login(conn, endpoint)
        if server_demands_encryption(conn):  # again, this time encrypted
            drop_socket(conn)
            conn, got = connect(endpoint, client_name, timeout_s, dialect, transport, encrypt=True)
            login(conn, endpoint)
        stage = "tree connect"
        tree_id = conn.connectTree(endpoint.share)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; one InfraError line
        drop_socket(conn)
        raise InfraError(
            f"{stage} to {endpoint.host}:{port} ({transport}, {got}) failed: "
            f"{describe_error(exc, endpoint)}"
        ) from None
    session = Session(conn, tree_id, endpoint, got, transport, port)
    session.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if operation_timeout_s != timeout_s:
        session.set_timeout(operation_timeout_s)
        session.sock.settimeout(operation_timeout_s)
    return session
