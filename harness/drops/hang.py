"""``hang``: the hung application whose kernel still works. The victim process is stopped
(SIGSTOP) with its receive window open: a large SO_RCVBUF and nothing outstanding, so its
kernel acknowledges everything the server sends, and an oplock or lease break reaches its
socket and sits there unread. The server cannot tell it from a slow client. Unlike ``pause``
(a closed window, which Samba's break-ack check notices after about 3 s), only the server's
break timeout can release what the holder is asked to give up; what it holds otherwise (its
open and share mode) stays until it is killed (SIGKILL) at the end of the fault phase.

On the wire: SO_RCVBUF grown, then silence from a stopped process whose kernel ACKs every
segment with an open window (no FIN, no RST) until the kill's RST.

Evidence, server side: the server's socket to the victim is ESTABLISHED with nothing
unacknowledged (Send-Q 0), /proc says the victim is stopped, and the victim's own socket
(sock_diag in its network namespace) holds what reached it since, unread: a break waiting in
its receive queue. For a holding no opener breaks, nothing arrives: the drop is proven once
that has held for ``quiet_s``. On a server the harness cannot look inside (a URL target), the
capture of the victim's flow: everything the server sent since the drop acknowledged by the
stopped victim's kernel, with an open window and no data from the victim.
"""

from __future__ import annotations

import os
import socket
import time

from harness.drops.base import after
from harness.drops.pause import Pause, process_state
from harness.errors import InfraError
from harness.lab.sockdiag import TcpTable
from harness.validate import number


def hung_evidence(
    rows,
    detail: dict,
    state: str | None,
    victim_rx_q: int | None,
    quiet_for_s: float,
    quiet_s: float,
) -> dict | None:
    """Pure: the victim is stopped (``state`` ``T``), the server's socket to it ESTABLISHED with
    nothing unacknowledged, and the victim's receive queue holds ``victim_rx_q`` unread bytes:
    proven at once when they are more than zero (a break waiting), or once the rest has held
    for ``quiet_s`` (``quiet_for_s`` so far) with nothing sent to the victim."""
    if state != "T" or victim_rx_q is None:
        return None
    row = next((r for r in rows if r.state == "ESTAB" and r.send_q == 0), None)
    if row is None or (victim_rx_q == 0 and quiet_for_s < quiet_s):
        return None
    return {
        "server_socket": "ESTAB",
        "server_unacked_bytes": row.send_q,
        "peer": row.peer,
        "victim_pid": detail.get("pid"),
        "victim_state": "stopped",
        "victim_rx_queue_bytes": victim_rx_q,
        "waiting": "a break unread in the victim's receive queue"
        if victim_rx_q
        else f"nothing sent to the victim in {quiet_s:g} s",
    }


def hung_in_capture(
    captured: list, since_monotonic: float, state: str | None, quiet_for_s: float, quiet_s: float
) -> dict | None:
    """Pure: from the harness's capture of the victim's flow since the drop, the victim is
    stopped and sent no data, and its kernel acknowledged all the server sent (with a window
    still open); proven at once when the server sent something, else after ``quiet_s``."""
    if state != "T":
        return None
    sent_in = [s for s in after(captured, since_monotonic, "in") if s.payload_len]
    out = after(captured, since_monotonic, "out")
    if any(s.payload_len for s in out):
        return None
    if not sent_in:
        return (
            {
                "capture": f"the stopped victim's flow stayed silent for {quiet_s:g} s",
                "victim_state": "stopped",
            }
            if quiet_for_s >= quiet_s
            else None
        )
    end = max(s.seq + s.payload_len for s in sent_in)
    acks = [
        s for s in out if (s.ack - end) & 0xFFFFFFFF < 1 << 31 and s.window > 0
    ]  # seq arithmetic
    if not acks:
        return None
    return {
        "capture": "the stopped victim's kernel acknowledged the server's data, window open",
        "server_bytes": sum(s.payload_len for s in sent_in),
        "victim_window": acks[-1].window,
        "victim_state": "stopped",
    }


class Hang(Pause):
    """The hung holder with an open window: stopped, its kernel acknowledging everything,
    killed at the end of the fault phase."""

    mode = "hang"
    wire = (
        "SO_RCVBUF grown, nothing outstanding, then the victim process is SIGSTOPped (window open)"
    )

    def __init__(self, rcvbuf_bytes: int = 1 << 20, quiet_s: float = 2.0) -> None:
        self.after = "kill"
        self.rcvbuf_bytes = number(rcvbuf_bytes, "rcvbuf_bytes", 4096, 1 << 24, integer=True)
        self.quiet_s = float(number(quiet_s, "quiet_s", 0, 30))
        self._table: TcpTable | None = None  # the victim's namespace (evidence state)
        self._seen_at: float | None = None

    def prepare(self, session):
        pass

    def act(self, session):
        session.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_bytes)
        return {
            "rcvbuf_bytes": session.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
            "pid": os.getpid(),
            "then": "SIGSTOP",
            "after": "kill",
        }

    def victim_rx_queue(self, pid: int, row) -> int | None:
        """The unread bytes of the victim's socket, from sock_diag in its own namespace."""
        try:
            if self._table is None:
                ns = f"/proc/{pid}/ns/net"  # the harness's own one needs no setns (no root)
                self._table = TcpTable(
                    None if os.readlink(ns) == os.readlink("/proc/self/ns/net") else ns
                )
            mine = self._table.lookup(row.peer, row.local)
        except (InfraError, OSError):
            return None
        return None if mine is None else mine.recv_q

    def evidence(self, before, rows, detail, victim_exitcode):
        """Reads /proc and the victim's socket, then judges purely (hung_evidence)."""
        pid = detail.get("pid")
        state = process_state(pid)
        row = next((r for r in rows if r.state == "ESTAB"), None)
        if state != "T" or row is None:
            return None
        now = time.monotonic()
        if self._seen_at is None:
            self._seen_at = now
        found = hung_evidence(
            rows, detail, state, self.victim_rx_queue(pid, row), now - self._seen_at, self.quiet_s
        )
        if found:
            self.cleanup(None)
        return found

    def cleanup(self, victim_netns):
        if self._table is not None:
            self._table.close()
            self._table = None

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """Reads /proc, then judges the capture purely (hung_in_capture)."""
        state = process_state(detail.get("pid"))
        if state != "T":
            return None
        now = time.monotonic()
        if self._seen_at is None:
            self._seen_at = now
        return hung_in_capture(captured, since_monotonic, state, now - self._seen_at, self.quiet_s)
