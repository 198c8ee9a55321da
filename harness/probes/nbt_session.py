"""``nbt_session``: a new TCP connection plus NBT SESSION REQUEST until the positive response.

On the wire: SYN, handshake, 0x81 session request (called name <20>, calling name <00>),
the server's 0x82; then a normal close (FIN). No SMB message is sent.
"""

from __future__ import annotations

import socket
import time

from harness.errors import ProbeTimeout
from harness.packets.nbt import (
    NEGATIVE_RESPONSE_REASONS,
    NEGATIVE_SESSION_RESPONSE,
    POSITIVE_SESSION_RESPONSE,
    parse_session_header,
    session_request,
)


def recv_exact(sock: socket.socket, n: int, deadline: float, what: str) -> bytes:
    buf = b""
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeTimeout(f"timed out waiting for {what}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(buf))
        except TimeoutError as exc:
            raise ProbeTimeout(f"timed out waiting for {what}") from exc
        if not chunk:
            raise ConnectionError(f"connection closed while waiting for {what}")
        buf += chunk
    return buf


def request_session(host: str, port: int, called: str, calling: str, timeout_s: float) -> None:
    """Open a TCP connection, do the NBT session request, close. Raise on anything but 0x82."""
    send_session_request(host, port, session_request(called, calling), timeout_s)


def send_session_request(host: str, port: int, request: bytes, timeout_s: float) -> None:
    """request_session() with the SESSION REQUEST already encoded (the probe's timed path)."""
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except TimeoutError as exc:
        raise ProbeTimeout(f"TCP connect to {host}:{port} timed out") from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        ptype, length = parse_session_header(recv_exact(sock, 4, deadline, "NBT session response"))
        body = recv_exact(sock, length, deadline, "NBT session response body") if length else b""
        if ptype == NEGATIVE_SESSION_RESPONSE:
            reason = NEGATIVE_RESPONSE_REASONS.get(body[0] if body else -1, "unknown reason")
            raise ConnectionError(f"negative NBT session response: {reason}")
        if ptype != POSITIVE_SESSION_RESPONSE:
            raise ConnectionError(f"unexpected NBT session response type 0x{ptype:02x}")
    finally:
        sock.close()


class SessionRequestProbe:
    name = "nbt_session"

    def __init__(self, host: str, port: int, called: str, calling: str, timeout_s: float = 2.0):
        self.host, self.port, self.called, self.calling = host, port, called, calling
        self.timeout_s = timeout_s
        self._request = session_request(called, calling)
        self.addr = host

    @classmethod
    def from_context(cls, ctx) -> SessionRequestProbe:
        ep = ctx.endpoint
        return cls(
            ep.host, ep.nbt_port, ep.netbios_name, f"NBTH{ctx.client}".upper()[:15], ctx.timeout_s
        )

    def open(self) -> None:
        # Look the name up once, outside the timed path: a probe must time the server, not
        # the resolver (create_connection would resolve on every invocation).
        self.addr = str(
            socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        )

    def invoke(self) -> None:
        send_session_request(self.addr, self.port, self._request, self.timeout_s)

    def close(self) -> None:
        pass
