"""``pause``: the hung client. The victim process is stopped (SIGSTOP) with its TCP connection
alive and SMB2 READs outstanding, so the server's TCP sees nothing wrong (the victim's kernel
still ACKs, then advertises a zero window once its small receive buffer is full) while the
client answers nothing, not even an oplock or lease break. At the end of the fault phase it
is released (SIGCONT, ``after = "resume"``) or killed (SIGKILL, ``after = "kill"``).

On the wire: SO_RCVBUF shrunk, SMB2 READs for ``read_total_bytes``, then silence from a
stopped process (window closes; no FIN, no RST) until the release.

Who releases it: before stopping itself the victim forks a *waker* that sleeps until the
release time and then sends SIGCONT or SIGKILL. No stopped process is left behind on any
exit path: the waker dies with the victim (parent-death signal), the victim with the runner
(its own parent-death signal is SIGKILL, which ends a stopped process too), and the runner's
teardown SIGKILLs every client that is still there, stopped or not.
"""

from __future__ import annotations

import os
import signal
import time

from harness.drops.base import WithBigFile, after
from harness.drops.stall import STUCK_SEND_Q_BYTES
from harness.lab.inns import die_with_parent
from harness.validate import number

AFTERS = ("resume", "kill")
SIGKILLED = -signal.SIGKILL


def process_state(pid: int | None) -> str | None:
    """The state letter of a process from /proc (``T``: stopped), None if it is gone."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    tail = stat.rpartition(")")[2].split()
    return tail[0] if tail else None


def paused_evidence(rows, detail: dict, state: str | None) -> dict | None:
    """Pure: the server's socket to the victim is ESTABLISHED with data queued to it while the
    victim's process is stopped (``state`` ``T``)."""
    if state != "T":
        return None
    for row in rows:
        if row.state == "ESTAB" and row.send_q >= STUCK_SEND_Q_BYTES:
            return {
                "server_socket": "ESTAB",
                "send_q_bytes": row.send_q,
                "peer": row.peer,
                "victim_pid": detail.get("pid"),
                "victim_state": "stopped",
            }
    return None


class Pause(WithBigFile):
    """The hung client: stopped with its connection open, then resumed or killed (``after``) at
    the end of the fault phase. Evidence: the server's socket is ESTABLISHED with at least
    16 KiB queued to the victim while /proc says the victim is stopped; on a URL target, the
    stopped victim's zero window in the capture."""

    mode = "pause"
    wire = (
        "SO_RCVBUF shrunk, SMB2 READs outstanding, then the victim process is SIGSTOPped "
        "(connection open)"
    )

    def __init__(
        self, after: str = "resume", read_total_bytes: int = 1 << 20, rcvbuf_bytes: int = 4096
    ) -> None:
        if after not in AFTERS:
            raise ValueError(f"after must be one of {', '.join(AFTERS)}, got {after!r}")
        super().__init__(read_total_bytes)
        self.after = after
        self.rcvbuf_bytes = number(rcvbuf_bytes, "rcvbuf_bytes", 1, 1 << 24, integer=True)

    def act(self, session):
        detail = self.read_into_small_window(session, self.rcvbuf_bytes)
        return {**detail, "pid": os.getpid(), "then": "SIGSTOP", "after": self.after}

    def during(self, session, until_monotonic, record):
        release_at = self.holder_end_monotonic(until_monotonic)
        victim = os.getpid()
        waker = os.fork()
        if waker == 0:  # the waker: no Python teardown, nothing but the signal
            try:
                die_with_parent(victim)
                time.sleep(max(0.0, release_at - time.monotonic()))
                os.kill(victim, signal.SIGCONT if self.after == "resume" else signal.SIGKILL)
            finally:
                os._exit(0)
        record(
            "stop",
            pid=victim,
            waker_pid=waker,
            after=self.after,
            release_in_s=round(release_at - time.monotonic(), 3),
        )
        os.kill(victim, signal.SIGSTOP)
        # Here only after SIGCONT (a kill ends the process while it is stopped).
        record("resumed", late_s=round(time.monotonic() - release_at, 3))
        try:
            os.waitpid(waker, 0)
        except ChildProcessError:
            pass

    def evidence(self, before, rows, detail, victim_exitcode):
        """Reads the victim's process state (/proc), then judges purely (paused_evidence)."""
        return paused_evidence(rows, detail, process_state(detail.get("pid")))

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """The stopped victim's TCP advertised a zero window while the server had more."""
        if process_state(detail.get("pid")) != "T":
            return None
        zero = [s for s in after(captured, since_monotonic, "out") if s.window == 0]
        if zero and after(captured, since_monotonic, "in"):
            return {
                "capture": "the stopped victim advertised a zero window",
                "zero_window_segments": len(zero),
                "victim_state": "stopped",
            }
        return None
