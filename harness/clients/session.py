"""One impacket SMB session over NBT (TCP 139): negotiate, session setup, tree connect.

The server is called by its NetBIOS name, never '*SMBSERVER' (which makes impacket send a
hidden NBSTAT first). Errors become one-line messages that never contain the password.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from impacket import smb
from impacket.smbconnection import SessionError, SMBConnection
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
    SMB2_DIALECT_21,
    SMB2_DIALECT_311,
    SMB2_READ,
    SMB2ChangeNotify,
    SMB2Read,
)

from harness.errors import InfraError
from harness.server import Endpoint

# smb2 = SMB 2.1, smb3 = 3.1.1 offered alone (None made impacket settle on 2.0.2 over 139,
# which has no leases), as on the matrix branch
DIALECTS = {"smb1": smb.SMB_DIALECT, "smb2": SMB2_DIALECT_21, "smb3": SMB2_DIALECT_311, None: None}


def describe_error(exc: BaseException, endpoint: Endpoint | None = None) -> str:
    """One line for an impacket/socket error, with any password masked."""
    if isinstance(exc, SessionError):
        msg = exc.getErrorString()
        text = f"{msg[0]}: {msg[1]}" if isinstance(msg, tuple) else str(msg)
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

    @property
    def smb(self):
        """The dialect object (impacket SMB or SMB3), which owns the socket."""
        return self.conn.getSMBServer()

    @property
    def sock(self) -> socket.socket:
        return self.smb.get_socket()

    def local_addr(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def open_file(self, name: str, overwrite: bool = True) -> int:
        return self.conn.createFile(
            self.tree_id, name, desiredAccess=GENERIC_READ | GENERIC_WRITE,
            shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE,
            creationDisposition=FILE_OVERWRITE_IF if overwrite else FILE_OPEN_IF)

    def max_read_bytes(self) -> int:
        """The largest READ the server allows (64 KiB unless large MTU was negotiated)."""
        return int(self.smb._Connection.get("MaxReadSize", 65536) or 65536)

    def send_read_nowait(self, file_id, offset: int, length: int) -> int:
        """Send an SMB2 READ and do not wait for the answer (it stays outstanding).

        Returns the MessageID. The credit window is advanced by the request's credit
        charge, as impacket would only do on reading the answer.
        """
        dialect = self.smb
        packet = dialect.SMB_PACKET()
        packet["Command"] = SMB2_READ
        packet["TreeID"] = self.tree_id
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
        packet = dialect.SMB_PACKET()
        packet["Command"] = SMB2_CHANGE_NOTIFY
        packet["TreeID"] = self.tree_id
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
        except Exception:
            try:
                self.sock.close()
            except Exception:
                pass


def open_session(endpoint: Endpoint, client_name: str, timeout_s: float,
                 dialect: str | None = None) -> Session:
    """Negotiate, log in and connect the share; InfraError with one line on failure."""
    stage = "connect"
    try:
        conn = SMBConnection(remoteName=endpoint.netbios_name, remoteHost=endpoint.host,
                             myName=client_name[:15].upper(), sess_port=endpoint.nbt_port,
                             timeout=timeout_s, preferredDialect=DIALECTS[dialect])
        stage = "login"
        conn.login(endpoint.username, endpoint.password, endpoint.domain)
        stage = "tree connect"
        tree_id = conn.connectTree(endpoint.share)
    except Exception as exc:
        raise InfraError(f"{stage} to {endpoint.host}:{endpoint.nbt_port} failed: "
                         f"{describe_error(exc, endpoint)}") from None
    session = Session(conn, tree_id, endpoint)
    session.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return session


def client_file_name(client: str) -> str:
    return f"nbth-{client}-{os.getpid()}.dat"
