"""The canary: a process that talks to no server and only measures how late the machine
wakes it. When every client's latency jumps at the same instant as the canary's, the machine
stalled (a noisy shared host), not the server; the checker then takes the overlapping time
off those samples (and says how many). A server stall leaves the canary on time, so it is
never excused this way.

Two canaries run: one at the probers' real-time priority (``canary``: the stalls the probers
themselves can suffer: hypervisor, interrupts) and one at normal priority (``canary_normal``:
the scheduling delays an ordinary process suffers, such as the server under test and the
replica relay, when other work holds the CPUs). The real-time canary alone cannot see the
second kind: a healthy server answers late while the real-time canary wakes on time.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import ClassVar

from harness.clients.priority import raise_priority
from harness.history import HistoryWriter
from harness.lab.inns import die_with_parent, release_held_signals
from harness.procs.protocol import done, ready_then_start

# The runner starts one canary of each: (name, realtime). Each writes events-<name>.jsonl.
CANARIES = (("canary", True), ("canary_normal", False))

CANARY_RATE_HZ = 200.0
RECORD_LATE_US = 5000.0  # only wake-ups later than this are written to the history


@dataclass
class CanarySpec:
    """One canary process: its name in the history, its priority, where it writes, how long
    it runs."""

    role: ClassVar[str] = "canary"
    name: str
    realtime: bool  # the probers' real-time priority, or normal (the server's)
    events_path: str
    total_s: float
    owner_pid: int | None = field(default_factory=os.getpid)  # it dies with the runner


def canary_main(spec: CanarySpec, conn) -> None:
    """Entry point of a canary process (forked by the runner)."""
    if spec.owner_pid is not None:
        die_with_parent(spec.owner_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    release_held_signals()
    writer = HistoryWriter(spec.events_path, spec.name)
    # the probers' priority: it measures the stalls they can suffer; or normal, the server's
    sched = raise_priority() if spec.realtime else "normal"
    t0 = ready_then_start(conn, {"pid": os.getpid(), "sched": sched}, writer)
    total_s = spec.total_s
    period_s = 1.0 / CANARY_RATE_HZ
    k = 0
    while (intended_s := k * period_s) < total_s:
        delay = t0 + intended_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        woke_s = time.monotonic() - t0
        late_us = (woke_s - intended_s) * 1e6
        if late_us > RECORD_LATE_US:
            writer.write("canary", t_s=woke_s, late_us=round(late_us, 1))
            k = int(woke_s / period_s)  # no burst of catch-up wake-ups
        k += 1
    done(writer, conn)
