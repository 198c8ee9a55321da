"""What every drop offers: an action in the victim process and a pure evidence check."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from impacket.smbconnection import SessionError

from harness.clients.scratch import client_file_name
from harness.clients.session import Session
from harness.history import read_events
from harness.server import ServerSocket
from harness.validate import number

GONE_OR_CLOSING = ("CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT", "CLOSED")
BIG_FILE_BYTES = 4 << 20
CHUNK_BYTES = 1 << 20
# A victim that stays connected lets go this long before the fault phase's end, half a
# contended-open interval: the contended opens run on the drop's half-second grid, and one
# sent at the very instant of the holder's end raced its RST to the server (a server that
# holds opens after the loss then let it through: CI at d1c618a).
HOLDER_END_LEAD_S = 0.25


class Drop:
    mode = "drop"
    wire = ""  # one sentence: what goes on the wire
    owner_pid = 0  # the harness process that owns the run (tags firewall rules)
    needs_own_host = False  # acts on the victim's whole host: needs a namespace of its own
    needs_root = False  # firewall rules or qdiscs
    # Why this drop cannot run on an SMB1 (nt1) session, or "" where it can (see
    # harness.scenario.unsupported: bad input in a file, a skip in a matrix).
    smb1_unsupported = ""
    # The victim process lives on after act() and release() and can log on again: the drop
    # can repeat on a fault schedule (harness.scenario.fault_schedule).
    repeatable = False
    # The holdings ([victim] holds) this drop acts on; empty: any, or none (see
    # harness.scenario.unsupported).
    needs_holdings: tuple[str, ...] = ()
    fault_end_monotonic: float | None = None  # set in the victim before act(): the fault's end
    victim_events_path: str | None = None  # set by the runner before evidence: the victim's history

    def holder_end_monotonic(self, until_monotonic: float) -> float:
        """When a victim that stays connected (hang, pause, ignore_breaks, late_ack) lets go:
        HOLDER_END_LEAD_S before the fault phase's end (else ``until_monotonic``)."""
        if self.fault_end_monotonic is None:
            return until_monotonic
        return self.fault_end_monotonic - HOLDER_END_LEAD_S

    def unsupported(self, victim_netns: str | None) -> str | None:
        """Why this drop cannot run where the victim runs (the scenario is skipped), or None."""
        if self.needs_root and os.geteuid() != 0:
            return (
                f"drop {self.mode} needs root (iptables/tc) and the harness runs as uid "
                f"{os.geteuid()}"
            )
        if self.needs_own_host and victim_netns is None:
            return (
                f"drop {self.mode} changes the victim's whole host, and this target runs "
                "clients in the harness's own network namespace"
            )
        return None

    def victim_drop_events(self) -> list[dict] | None:
        """The drop events of the victim's history (``victim_events_path``), for a drop
        proven by what its victim recorded; None while there is none to read."""
        if not self.victim_events_path:
            return None
        try:
            events = read_events(Path(self.victim_events_path))
        except OSError:
            return None
        return [e for e in events if e.get("type") == "drop"]

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

    def cleanup(self, victim_netns: str | None) -> None:
        """From the runner, on every exit path, whether or not the victim got to release():
        remove what act() put on the victim's host (rules, qdiscs). Idempotent."""

    def evidence(
        self,
        before: ServerSocket | None,
        rows: list[ServerSocket],
        detail: dict,
        victim_exitcode: int | None,
    ) -> dict | None:
        """Server-side proof that the drop happened, from the server's TCP rows for the
        victim's peer address; None while there is none yet. Pure."""
        raise NotImplementedError

    def watched_peers(self, detail: dict) -> list[str] | None:
        """The connections whose server-side rows ``evidence`` is given, where the drop acts
        on connections of its own (their local addresses, from act()'s detail); None: the
        victim's session."""
        return None

    def client_evidence(
        self, captured: list, since_monotonic: float, detail: dict, victim_exitcode: int | None
    ) -> dict | None:
        """Proof from the harness's own side (a capture of the victim's flow), for servers
        it cannot look inside; None where this drop has no such proof. Pure."""
        return None


class WithOutstandingNotify(Drop):
    """A drop that first leaves a request outstanding on the server: an SMB2 CHANGE_NOTIFY on
    the victim's own directory, which the server answers only with STATUS_PENDING. (A READ
    would not do: its answer can reach the victim before the drop.)"""

    smb1_unsupported = "it leaves an SMB2 CHANGE_NOTIFY outstanding"

    def __init__(self) -> None:
        self.dir_id = None

    def prepare(self, session):
        from harness.clients.scratch import scratch_name

        self.dir_id = session.open_watch_dir(scratch_name("victim"))

    def send_notify(self, session) -> int:
        """Send the CHANGE_NOTIFY; return its MessageID."""
        return session.send_change_notify_nowait(self.dir_id)


SPARSE_TAIL_BYTES = 4096


def prepare_big_file(session, size_bytes: int) -> object:
    """Create the victim's own file of size_bytes on the share; return its file id.

    Only its last 4 KiB are written (one WRITE at the end): the file system keeps the rest
    as a hole that reads as zeros, so READs of it make the server send just as many bytes.
    Writing all of it took 48 WRITEs of 64 KiB for stall's 3 MiB over NBT, 1 to 3 s of the
    scenario's set-up on a loaded machine. A server that skips a WRITE past its end of file
    and answers success (impacket's, as Vista does) leaves the file empty, and READs of it
    would be answered with small errors: its last byte is read back, and where it is not
    there the rest is written too."""
    file_id = session.open_file(client_file_name("victim"))
    n = min(SPARSE_TAIL_BYTES, size_bytes)
    session.conn.writeFile(session.tree_id, file_id, b"\xa5" * n, size_bytes - n)
    try:
        there = len(session.conn.readFile(session.tree_id, file_id, size_bytes - 1, 1)) == 1
    except SessionError:  # STATUS_END_OF_FILE: the tail was not written
        there = False
    if not there:
        session.conn.writeFile(session.tree_id, file_id, bytes(size_bytes - n), 0)
        session.conn.writeFile(session.tree_id, file_id, b"\xa5" * n, size_bytes - n)
    return file_id


class WithBigFile(Drop):
    """A drop that leaves the server with READs of the victim's own file to answer
    (``read_total_bytes`` of them: SMB2 READs, or SMB1 READ_ANDX on an nt1 session), and
    reads the server's retransmissions as evidence."""

    def __init__(self, read_total_bytes: int) -> None:
        number(read_total_bytes, "read_total_bytes", 0, BIG_FILE_BYTES, integer=True, lo_open=True)
        self.read_total_bytes = read_total_bytes
        self.file_id: object = None  # prepare_big_file's, opaque
        self.retransmits_seen = 0  # evidence state, kept by the runner's instance

    def prepare(self, session):
        self.file_id = prepare_big_file(session, self.read_total_bytes)

    def send_reads(self, session, size_bytes: int) -> int:
        """READs of size_bytes covering read_total_bytes, not waiting for answers; how many."""
        offsets = range(0, self.read_total_bytes, size_bytes)
        for offset in offsets:
            session.send_read_nowait(self.file_id, offset, size_bytes)
        return len(offsets)

    def read_into_small_window(self, session, rcvbuf_bytes: float) -> dict:
        """Shrink the victim's receive buffer to rcvbuf_bytes, then send the READs (of the
        largest size the server allows, 64 KiB without large MTU: one credit each, well within
        what the server has granted by now); the detail both stall and pause report."""
        session.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(rcvbuf_bytes))
        size = min(CHUNK_BYTES, session.max_read_bytes())
        return {
            "outstanding_reads": self.send_reads(session, size),
            "read_bytes": size,
            "rcvbuf_bytes": rcvbuf_bytes,
        }

    def note_retransmits(self, rows: list[ServerSocket]) -> int:
        """The most retransmissions (tcp_info retrans/backoff) seen so far on the server's rows."""
        for r in rows:
            self.retransmits_seen = max(
                self.retransmits_seen, int(r.info.get("retrans", 0)), int(r.info.get("backoff", 0))
            )
        return self.retransmits_seen


def after(captured: list, since_monotonic: float, direction: str) -> list:
    """Segments of one direction ("out" victim->server, "in") captured since a time."""
    return [
        c.segment for c in captured if c.t_monotonic >= since_monotonic and c.direction == direction
    ]


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
    return {
        "server_socket_before": before.state,
        "server_socket_after": rows[0].state if rows else "gone",
        "peer": before.peer,
    }
