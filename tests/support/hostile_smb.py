"""Hostile SMB servers for the tests, all on loopback (real sockets, threads of the test).

- WeakSmb1Server: answers every SMB1 NEGOTIATE with NT LM 0.12 *without* extended security
  (no challenge: a client would send its password in plain text; with a challenge: an
  LM/NTLMv1 response), every SMB2 NEGOTIATE with STATUS_NOT_SUPPORTED, and records every
  byte a client sends, to show what left the client.
- ImpacketSmbServer: impacket's own SMB server (SMB 2.0.2, one share, one user) in a child
  process: a working server the relay below corrupts.
- FrameRelay: a relay in front of a server that rewrites its answers frame by frame (the
  4-byte NBT/direct-TCP framing), and may inject frames of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

SMB1_NEGOTIATE = 0x72
SMB1_SESSION_SETUP_ANDX = 0x73
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_LOGON_FAILURE = 0xC000006D


def closed_port() -> int:
    """A loopback TCP port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def recv_frame(sock: socket.socket) -> tuple[int, bytes]:
    """(NBT type, payload) of one 4-byte-framed message (RFC 1002; 17-bit length)."""
    head = recv_exact(sock, 4)
    length = ((head[1] & 1) << 16) | struct.unpack(">H", head[2:])[0]
    return head[0], recv_exact(sock, length)


def frame(payload: bytes, kind: int = 0) -> bytes:
    return struct.pack(">BBH", kind, (len(payload) >> 16) & 1, len(payload) & 0xFFFF) + payload


class _Listener:
    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(32)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self._handler = handler
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except OSError:
                continue
            conn.settimeout(10)
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._handler(conn)
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.srv.close()
        for c in self.conns:
            c.close()


class WeakSmb1Server(_Listener):
    """NT1 without extended security; ``challenge``: 8 bytes (an LM/NTLMv1 login would
    follow) or b"" (share-level plain text: the password itself would follow)."""

    def __init__(self, challenge: bytes = b"") -> None:
        self.challenge = challenge
        self.received = bytearray()  # every byte every client sent
        self.smb1_commands: list[int] = []
        super().__init__(self._handle)

    def _handle(self, conn: socket.socket) -> None:
        while True:
            kind, payload = recv_frame(conn)
            self.received += payload
            if kind == 0x81:  # NBT SESSION REQUEST: positive response
                conn.sendall(frame(b"", 0x82))
            elif payload[:4] == b"\xfeSMB":
                conn.sendall(frame(self._smb2_not_supported(payload)))
            elif payload[:4] == b"\xffSMB":
                command = payload[4]
                self.smb1_commands.append(command)
                if command == SMB1_NEGOTIATE:
                    conn.sendall(frame(self._negotiate(payload)))
                else:  # a login attempt (what must never come): refuse it
                    conn.sendall(
                        frame(self._smb1_header(payload, STATUS_LOGON_FAILURE) + b"\x00\x00\x00")
                    )

    @staticmethod
    def _smb2_not_supported(request: bytes) -> bytes:
        message_id = struct.unpack_from("<Q", request, 24)[0]
        header = struct.pack(
            "<4sHHIHHIIQIIQ16s",
            b"\xfeSMB",
            64,
            0,
            STATUS_NOT_SUPPORTED,
            0,
            1,
            1,
            0,
            message_id,
            0,
            0,
            0,
            b"\x00" * 16,
        )
        return header + struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # ERROR response

    @staticmethod
    def _smb1_header(request: bytes, status: int, flags2: int = 0xC001) -> bytes:
        # Protocol, Command, Status, Flags (reply), Flags2 (no EXTENDED_SECURITY 0x0800),
        # PIDHigh, SecurityFeatures, Reserved, TID, PIDLow, UID, MID (the request's)
        tid, pid, uid, mid = struct.unpack_from("<HHHH", request, 24)
        return struct.pack(
            "<4sBIBHH8sHHHHH",
            b"\xffSMB",
            request[4],
            status,
            0x88,
            flags2,
            0,
            b"\x00" * 8,
            0,
            tid,
            pid,
            uid,
            mid,
        )

    def _negotiate(self, request: bytes) -> bytes:
        dialects = request[35:].split(b"\x00")
        index = next(i for i, d in enumerate(dialects) if d == b"\x02NT LM 0.12")
        security_mode = 0x03 if self.challenge else 0x01  # user level; encrypt or plain text
        capabilities = 0x0000005C  # UNICODE, LARGE_FILES, NT_SMBS, STATUS32: no EXTENDED_SECURITY
        params = struct.pack(
            "<HBHHIIIIIIHB",
            index,
            security_mode,
            10,
            1,
            16644,
            65536,
            0,
            capabilities,
            0,
            0,
            0,
            len(self.challenge),
        )
        data = self.challenge + "WORKGROUP\x00".encode("utf-16le")
        return (
            self._smb1_header(request, 0)
            + bytes([len(params) // 2])
            + params
            + struct.pack("<H", len(data))
            + data
        )


IMPACKET_SERVER = """
import sys
from binascii import hexlify
from impacket import ntlm, smbserver
port_file, share_dir, user, password = sys.argv[1:5]
srv = smbserver.SimpleSMBServer(listenAddress="127.0.0.1", listenPort=0)
srv.addShare("SHARE", share_dir, "")
srv.setSMB2Support(True)
srv.addCredential(user, 0, hexlify(ntlm.compute_lmhash(password)).decode(),
                  hexlify(ntlm.compute_nthash(password)).decode())
srv.setSMBChallenge("")
open(port_file + ".tmp", "w").write(str(srv.getServer().server_address[1]))
import os; os.replace(port_file + ".tmp", port_file)
# No cyclic garbage collection: a full pass of it (seen at the same moment of rst's fault
# phase in every default run: 15 ms on a quiet machine, 150-180 ms on a loaded one) holds
# every client of this one-process server at once, a pause of the test's Python server.
import gc; gc.disable()
srv.start()
"""


class ImpacketSmbServer:
    """impacket's SMB server (dialect 2.0.2) on loopback in a child process; a share
    ``SHARE`` in a temp dir; ``user``/``password`` its one account."""

    def __init__(self, user: str, password: str) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix=f"nbth-{os.getpid()}-impsrv-")
        port_file = os.path.join(self.dir.name, "port")
        os.mkdir(os.path.join(self.dir.name, "share"))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                IMPACKET_SERVER,
                port_file,
                os.path.join(self.dir.name, "share"),
                user,
                password,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("impacket's SMB server did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self.dir.cleanup()


# SMB2 header fields (offsets in the message)
SMB2_STATUS = 8
SMB2_COMMAND = 12
SMB2_CREDITS = 14
SMB2_MESSAGE_ID = 24


class FrameRelay(_Listener):
    """Relays each connection to ``upstream_port``; every framed message from the server
    passes through ``rewrite(payload, conn_state) -> list of payloads`` (none: dropped).
    ``inject(send)``, if given, runs in a thread per connection once the session is up
    (after the first TREE_CONNECT answer) with a function that sends one payload to the
    client."""

    def __init__(
        self,
        upstream_port: int,
        rewrite: Callable[[bytes, dict], list[bytes]],
        inject: Callable[[Callable[[bytes], None], threading.Event], None] | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.rewrite = rewrite
        self.inject = inject
        self.injected = 0  # messages inject() sent
        super().__init__(self._handle)

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        self.conns.append(upstream)
        client.settimeout(None)
        upstream.settimeout(None)
        state: dict = {"requests": {}}
        lock = threading.Lock()

        def send(payload: bytes, kind: int = 0) -> None:
            with lock:
                client.sendall(frame(payload, kind))

        def inject_send(payload: bytes) -> None:
            send(payload)
            self.injected += 1

        def to_server() -> None:
            try:
                while True:
                    kind, payload = recv_frame(client)
                    if payload[:4] == b"\xfeSMB":
                        mid = struct.unpack_from("<Q", payload, SMB2_MESSAGE_ID)[0]
                        state["requests"][mid] = payload
                    upstream.sendall(frame(payload, kind))
            except (OSError, ConnectionError):
                upstream.close()

        threading.Thread(target=to_server, daemon=True).start()
        injecting = False
        try:
            while True:
                kind, payload = recv_frame(upstream)
                if kind != 0 or payload[:4] != b"\xfeSMB":
                    send(payload, kind)
                    continue
                for out in self.rewrite(payload, state):
                    send(out)
                if (
                    self.inject
                    and not injecting
                    and struct.unpack_from("<H", payload, SMB2_COMMAND)[0] == 3
                ):
                    injecting = True
                    threading.Thread(
                        target=self.inject, args=(inject_send, self.stop), daemon=True
                    ).start()
        except (OSError, ConnectionError):
            pass
        finally:
            upstream.close()


class ResettingServer(_Listener):
    """Reads a client's first message (its NEGOTIATE, on direct TCP), then resets the
    connection (RST), for the first ``resets`` connections (None: all of them); later ones
    are relayed to ``upstream_port``."""

    def __init__(self, resets: int | None = None, upstream_port: int | None = None) -> None:
        self.resets = resets
        self.upstream_port = upstream_port
        self.accepted = 0
        super().__init__(self._handle)

    def _handle(self, conn: socket.socket) -> None:
        self.accepted += 1
        if self.resets is None or self.accepted <= self.resets:
            recv_frame(conn)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        self.conns.append(upstream)

        def pump(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                b.close()

        conn.settimeout(None)
        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)


# The bad-input corpus's hostile SMB servers: rewrites for a FrameRelay in front of impacket's
# server (each a function of one server message and the connection's state).
SMB2_NEGOTIATE_CMD, SMB2_SESSION_SETUP_CMD, SMB2_READ_CMD, SMB2_ECHO_CMD = 0, 1, 8, 13
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016


def _command(payload: bytes) -> int:
    return struct.unpack_from("<H", payload, SMB2_COMMAND)[0]


def absurd_negotiate(payload: bytes, state: dict) -> list[bytes]:
    """The NEGOTIATE answer grants 65,535 credits and 4 GiB - 1 transact/read/write sizes."""
    if _command(payload) != SMB2_NEGOTIATE_CMD:
        return [payload]
    out = bytearray(payload)
    struct.pack_into("<H", out, SMB2_CREDITS, 0xFFFF)
    struct.pack_into("<III", out, 64 + 28, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    return [bytes(out)]


def more_processing_forever(payload: bytes, state: dict) -> list[bytes]:
    """Every SESSION_SETUP answer says STATUS_MORE_PROCESSING_REQUIRED, the last one too."""
    if _command(payload) != SMB2_SESSION_SETUP_CMD:
        return [payload]
    out = bytearray(payload)
    struct.pack_into("<I", out, SMB2_STATUS, STATUS_MORE_PROCESSING_REQUIRED)
    return [bytes(out)]


def long_read(payload: bytes, state: dict) -> list[bytes]:
    """A successful READ answer carries 4 KiB more than was asked for (DataLength too)."""
    if _command(payload) != SMB2_READ_CMD or struct.unpack_from("<I", payload, SMB2_STATUS)[0]:
        return [payload]
    out = bytearray(payload)
    length = struct.unpack_from("<I", out, 64 + 4)[0]
    struct.pack_into("<I", out, 64 + 4, length + 4096)
    return [bytes(out) + b"\xa5" * 4096]


def echo_wrong_id(payload: bytes, state: dict) -> list[bytes]:
    """An ECHO answer carries another message's id (the echo's own id + 1000)."""
    if _command(payload) != SMB2_ECHO_CMD:
        return [payload]
    out = bytearray(payload)
    mid = struct.unpack_from("<Q", out, SMB2_MESSAGE_ID)[0]
    struct.pack_into("<Q", out, SMB2_MESSAGE_ID, mid + 1000)
    return [bytes(out)]


def unchanged(payload: bytes, state: dict) -> list[bytes]:
    return [payload]


def oplock_break_storm(send: Callable[[bytes], None], stop: threading.Event) -> None:
    """Unsolicited SMB2 OPLOCK_BREAK notifications ([MS-SMB2] 2.2.23.1, MessageId all ones)
    for a file nobody opened, 500 a second, for as long as the connection lives."""
    header = struct.pack(
        "<4sHHIHHIIQIIQ16s",
        b"\xfeSMB",
        64,
        0,
        0,
        0x12,
        0,
        1,
        0,
        0xFFFFFFFFFFFFFFFF,
        0,
        0,
        0,
        b"\x00" * 16,
    )
    body = struct.pack("<HBBI16s", 24, 0x08, 0, 0, b"\x5a" * 16)
    try:
        while not stop.is_set():
            for _ in range(5):
                send(header + body)
            time.sleep(0.01)
    except OSError:
        pass


class NtlmFallbackSmb1Server(WeakSmb1Server):
    """NT1 *with* extended security that calls itself Samba and refuses every NTLMv2 login:
    the case where impacket's ntlmFallback retries with NTLMv1. Records the NT response
    length of every NTLMSSP AUTHENTICATE (24 bytes: NTLMv1) in ``nt_response_bytes``."""

    STATUS_MORE_PROCESSING = 0xC0000016

    def __init__(self) -> None:
        self.nt_response_bytes: list[int] = []
        super().__init__(b"")

    def _negotiate(self, request: bytes) -> bytes:
        dialects = request[35:].split(b"\x00")
        index = next(i for i, d in enumerate(dialects) if d == b"\x02NT LM 0.12")
        capabilities = 0x8000005C  # the above and EXTENDED_SECURITY
        params = struct.pack(
            "<HBHHIIIIIIHB", index, 0x03, 10, 1, 16644, 65536, 0, capabilities, 0, 0, 0, 0
        )
        data = b"\x42" * 16  # ServerGUID; no security blob (the client starts NTLMSSP)
        return (
            self._smb1_header(request, 0, flags2=0xC801)
            + bytes([len(params) // 2])
            + params
            + struct.pack("<H", len(data))
            + data
        )

    def _handle(self, conn: socket.socket) -> None:
        from impacket import ntlm

        while True:
            kind, payload = recv_frame(conn)
            self.received += payload
            if kind == 0x81:
                conn.sendall(frame(b"", 0x82))
                continue
            if payload[:4] == b"\xfeSMB":
                conn.sendall(frame(self._smb2_not_supported(payload)))
                continue
            command = payload[4]
            self.smb1_commands.append(command)
            if command == SMB1_NEGOTIATE:
                conn.sendall(frame(self._negotiate(payload)))
                continue
            at = payload.find(b"NTLMSSP\x00")
            if command != SMB1_SESSION_SETUP_ANDX or at < 0:
                conn.sendall(
                    frame(
                        self._smb1_header(payload, STATUS_LOGON_FAILURE, 0xC801) + b"\x00\x00\x00"
                    )
                )
                continue
            message_type = struct.unpack_from("<I", payload, at + 8)[0]
            if message_type == 3:  # AUTHENTICATE: note its NT response, refuse it
                auth = ntlm.NTLMAuthChallengeResponse()
                auth.fromString(payload[at:])
                self.nt_response_bytes.append(len(auth["ntlm"]))
                conn.sendall(
                    frame(
                        self._smb1_header(payload, STATUS_LOGON_FAILURE, 0xC801) + b"\x00\x00\x00"
                    )
                )
            else:  # NEGOTIATE: a challenge
                conn.sendall(frame(self._challenge(payload)))

    def _challenge(self, request: bytes) -> bytes:
        from impacket import ntlm
        from impacket.spnego import SPNEGO_NegTokenResp, TypesMech

        domain = "WORKGROUP".encode("utf-16le")
        av = ntlm.AV_PAIRS()
        av[ntlm.NTLMSSP_AV_HOSTNAME] = "SRV".encode("utf-16le")
        av[ntlm.NTLMSSP_AV_DOMAINNAME] = domain
        av[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = "srv".encode("utf-16le")
        av[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = "workgroup".encode("utf-16le")
        info = av.getData()
        challenge = ntlm.NTLMAuthChallenge()
        challenge["flags"] = (
            ntlm.NTLMSSP_NEGOTIATE_NTLM
            | ntlm.NTLMSSP_NEGOTIATE_UNICODE
            | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO
            | ntlm.NTLMSSP_REQUEST_TARGET
        )
        challenge["domain_name"] = domain
        challenge["domain_offset"] = 48
        challenge["challenge"] = b"\x11" * 8
        challenge["Version"] = b""  # no NTLMSSP_NEGOTIATE_VERSION: none
        challenge["TargetInfoFields"] = info
        challenge["TargetInfoFields_offset"] = 48 + len(domain)
        token = SPNEGO_NegTokenResp()
        token["NegState"] = b"\x01"  # accept-incomplete
        token["SupportedMech"] = TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]
        token["ResponseToken"] = challenge.getData()
        blob = token.getData()
        params = struct.pack("<BBHHH", 0xFF, 0, 0, 0, len(blob))
        data = blob + b"Unix\x00Samba\x00"  # ASCII (no FLAGS2_UNICODE): impacket reads it as Samba
        header = bytearray(self._smb1_header(request, self.STATUS_MORE_PROCESSING, 0x4801))
        struct.pack_into("<H", header, 28, 100)  # the Uid of the session being set up
        return (
            bytes(header) + bytes([len(params) // 2]) + params + struct.pack("<H", len(data)) + data
        )
