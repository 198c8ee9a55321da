"""What every drop offers: an action in the victim process and a pure evidence check."""

from __future__ import annotations

import os
import socket
import struct

from harness.clients.session import Session
from harness.targets.base import ServerSocket

GONE_OR_CLOSING = ("CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT", "CLOSED")


class Drop:
    mode = "drop"
    wire = ""  # one sentence: what goes on the wire
    holds_session = False  # the victim keeps its socket until the run ends
    owner_pid = 0  # the harness process that owns the run (tags firewall rules)
    needs_own_host = False  # acts on the victim's whole host: needs a namespace of its own
    needs_root = False  # firewall rules or qdiscs

    def unsupported(self, victim_netns: str | None) -> str | None:
        """Why this drop cannot run where the victim runs (the scenario is skipped), or None."""
        if self.needs_root and os.geteuid() != 0:
            return f"drop {self.mode} needs root (iptables/tc) and the harness runs as uid {os.geteuid()}"
        if self.needs_own_host and victim_netns is None:
            return (f"drop {self.mode} changes the victim's whole host, and this target runs "
                    "clients in the harness's own network namespace")
        return None

    def prepare(self, session: Session) -> None:
        """Set-up in the victim process before the run starts (e.g. a file to read)."""

    def act(self, session: Session) -> dict:
        """Drop the session; return what was done (for the history)."""
        raise NotImplementedError

    def during(self, session: Session, until_monotonic: float, record) -> None:
        """After act(), until the run ends: what the victim keeps doing (default: nothing).
        ``record(event, **fields)`` writes a drop event into the history."""

    def release(self, session: Session) -> None:
        """At the end of the run: let go of anything act() held (abortively)."""
        abort(session.sock)

    def evidence(self, before: ServerSocket | None, rows: list[ServerSocket], detail: dict,
                 victim_exitcode: int | None) -> dict | None:
        """Server-side proof that the drop happened, from the server's TCP rows for the
        victim's peer address; None while there is none yet. Pure."""
        raise NotImplementedError

    def client_evidence(self, captured: list, since_monotonic: float, detail: dict,
                        victim_exitcode: int | None) -> dict | None:
        """Proof from the harness's own side (a capture of the victim's flow), for servers
        it cannot look inside; None where this drop has no such proof. Pure."""
        return None


class WithOutstandingNotify(Drop):
    """A drop that first leaves a request outstanding on the server: an SMB2 CHANGE_NOTIFY on
    the victim's own directory, which the server answers only with STATUS_PENDING. (A READ
    would not do: its answer can reach the victim before the drop.)"""

    def __init__(self) -> None:
        self.dir_id = None

    def prepare(self, session):
        self.dir_id = session.open_watch_dir(f"nbth-victim-{os.getpid()}")

    def send_notify(self, session) -> int:
        """Send the CHANGE_NOTIFY; return its MessageID."""
        return session.send_change_notify_nowait(self.dir_id)

    def release(self, session):
        pass


def after(captured: list, since_monotonic: float, direction: str) -> list:
    """Segments of one direction ("out" victim->server, "in") captured since a time."""
    return [c.segment for c in captured if c.t_monotonic >= since_monotonic and c.direction == direction]


def left_with(captured: list, since_monotonic: float, flag: int) -> bool:
    return any(s.has(flag) for s in after(captured, since_monotonic, "out"))


def abort(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends a RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def vanished(before: ServerSocket | None, rows: list[ServerSocket]) -> dict | None:
    """Evidence that the server let go of the victim's connection."""
    if before is None:
        return None  # it never was seen: nothing can vanish
    live = [r for r in rows if r.state not in GONE_OR_CLOSING]
    if live:
        return None
    return {"server_socket_before": before.state,
            "server_socket_after": rows[0].state if rows else "gone",
            "peer": before.peer}
