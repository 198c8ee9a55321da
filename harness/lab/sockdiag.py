"""The server's TCP table read in-process through sock_diag netlink (no ``ss`` process).

A netlink socket belongs to the network namespace it was created in. ``TcpTable`` creates
its socket in a short-lived thread that has entered the namespace (setns moves only the
calling thread), so the harness's own threads never change namespace and every later query
is one sendto/recv on an already open socket: cheap enough to poll every 50 ms during a run
without disturbing what is measured.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import socket
import threading
import time

from harness.errors import InfraError
from harness.lab.inns import start_without_signals
from harness.packets.inet_diag import (
    ENOENT,
    DiagError,
    dump_request,
    lookup_request,
    own_messages,
    parse_messages,
    split_addr,
)
from harness.server import ServerSocket

NETLINK_SOCK_DIAG = 4
CLONE_NEWNET = 0x40000000
QUERY_TIMEOUT_S = 5.0
RECV_BYTES = 1 << 16

_libc = ctypes.CDLL(None, use_errno=True)


def _open_in(netns_path: str | None) -> socket.socket:
    if netns_path is None:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    out: dict = {}

    def enter_and_open() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            finally:
                os.close(fd)
            out["sock"] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        except OSError as exc:
            out["error"] = exc

    t = threading.Thread(target=enter_and_open, name="nbth-sockdiag-open")
    start_without_signals(t)  # the thread ends right after: its namespace change dies with it
    t.join(QUERY_TIMEOUT_S)
    if "sock" not in out:
        raise InfraError(f"no sock_diag socket in {netns_path}: {out.get('error', 'timed out')}")
    return out["sock"]


class TcpTable:
    """Every TCP socket (IPv4 and IPv6) of one network namespace, with tcp_info.

    netns_path: /run/netns/NAME or /proc/PID/ns/net; None for the caller's own namespace."""

    def __init__(self, netns_path: str | None) -> None:
        self.netns_path = netns_path
        self._sock = _open_in(netns_path)
        self._sock.settimeout(QUERY_TIMEOUT_S)
        self._seq = itertools.count(1)
        self._sock.bind((0, 0))  # the kernel picks the port id its replies carry
        self._portid = self._sock.getsockname()[0]
        self._lock = threading.Lock()

    def rows(self, port: int | None = None) -> list[ServerSocket]:
        """The table (optionally only sockets whose local port is ``port``)."""
        out: list[ServerSocket] = []
        with self._lock:
            for family in (socket.AF_INET, socket.AF_INET6):
                out += self._dump(family)
        if port is not None:
            out = [r for r in out if r.local.rsplit(":", 1)[1] == str(port)]
        return out

    def _answer(self, seq: int, deadline: float) -> bytes:
        """The next datagram's messages that answer request ``seq``, skipping stale replies
        to earlier requests (socket.timeout at the deadline)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            self._sock.settimeout(remaining)
            ours = own_messages(self._sock.recv(RECV_BYTES), seq, self._portid)
            if ours:
                return ours

    def _dump(self, family: int) -> list[ServerSocket]:
        seq = next(self._seq)
        deadline = time.monotonic() + QUERY_TIMEOUT_S
        try:
            self._sock.sendto(dump_request(family, seq), (0, 0))
            rows: list[dict] = []
            done = False
            while not done:
                part, done = parse_messages(self._answer(seq, deadline))
                rows += part
        except (OSError, DiagError) as exc:
            raise InfraError(
                f"sock_diag query in {self.netns_path or 'this namespace'}: {exc}"
            ) from None
        return [ServerSocket(**r) for r in rows]

    def lookup(self, local: str, peer: str) -> ServerSocket | None:
        """The one socket local <-> peer (local: this namespace's side), or None when it is
        gone. A hash lookup in the kernel, not a walk of the whole table: microseconds."""
        with self._lock:
            seq = next(self._seq)
            try:
                self._sock.sendto(lookup_request(split_addr(local), split_addr(peer), seq), (0, 0))
                rows, _ = parse_messages(self._answer(seq, time.monotonic() + QUERY_TIMEOUT_S))
            except DiagError as exc:
                if exc.errno == ENOENT:
                    return None
                raise InfraError(
                    f"sock_diag lookup in {self.netns_path or 'this namespace'}: {exc}"
                ) from None
            except OSError as exc:
                raise InfraError(
                    f"sock_diag lookup in {self.netns_path or 'this namespace'}: {exc}"
                ) from None
        # with no connection of that 4-tuple the kernel may answer with the port's listener
        row = next(
            (ServerSocket(**r) for r in rows if r["peer"] == peer and r["local"] == local), None
        )
        return row

    def close(self) -> None:
        self._sock.close()


def netns_path(name: str) -> str:
    return os.path.join("/run/netns", name)
