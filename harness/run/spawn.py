"""The run's client processes from the runner's side: fork them (workers, pools, canaries),
wait until each has said ready, fix their shared t0 and send it, wait for them to finish,
and stop whatever is left on every exit path."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from harness.drops.base import Drop
from harness.errors import HarnessError
from harness.history import HistoryWriter
from harness.lab.inns import FORK, start_holding_signals
from harness.procs import protocol
from harness.procs.canary import CanarySpec, canary_main
from harness.procs.pool import pool_main
from harness.procs.worker import worker_main
from harness.procs.worker_spec import WorkerSpec
from harness.scenario.model import Scenario
from harness.targets.base import Target

SETUP_TIMEOUT_S = 30.0
SETUP_S_PER_POOLED_SESSION = 0.05  # pools log their sessions on one after another
# t0 is this far ahead of the moment every client is ready: enough for the start event and
# one pipe message per client (well under 10 ms); a client woken late only starts its
# unjudged warm-up late.
START_MARGIN_S = 0.1
DRAIN_S = 5.0  # beyond the phases and two probe timeouts, before a client is killed


@dataclass
class Client:
    """One forked client process: its spec, the process, the runner's end of its pipe, and
    what it said when ready."""

    spec: WorkerSpec | CanarySpec
    proc: BaseProcess
    conn: Connection
    info: dict | None = None  # what the client reported when ready (None before)

    @property
    def ready(self) -> dict[str, Any]:
        """The client's report from the end of its set-up."""
        if self.info is None:
            raise RuntimeError(f"{self.spec.name} has not reported ready")
        return self.info


def fork(clients: list[Client], specs: list[WorkerSpec | CanarySpec]) -> None:
    """Fork a process per spec (a worker, a pool or a canary), each appended to ``clients``
    as soon as it runs (whatever fails next, the caller stops what was started)."""
    for spec in specs:
        main: Callable[[Any, Connection], None]
        if isinstance(spec, CanarySpec):
            main = canary_main
        else:
            main = pool_main if spec.pool else worker_main
        parent, child = FORK.Pipe()
        proc = FORK.Process(target=main, args=(spec, child), name=f"nbth-{spec.name}", daemon=True)
        start_holding_signals(proc)
        child.close()
        clients.append(Client(spec, proc, parent))


def await_ready(clients: list[Client]) -> None:
    """Every client says ready (its info kept) within the set-up timeout, or the run fails:
    HoldingNotGranted when the server refused the victim's holding, HarnessError otherwise."""
    pooled = sum(c.spec.sessions for c in clients if isinstance(c.spec, WorkerSpec) and c.spec.pool)
    setup_timeout_s = SETUP_TIMEOUT_S + SETUP_S_PER_POOLED_SESSION * pooled
    deadline = time.monotonic() + setup_timeout_s
    pending = list(clients)
    while pending:
        ready = wait([c.conn for c in pending], timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            names = ", ".join(c.spec.name for c in pending)
            raise HarnessError(f"clients not ready within {setup_timeout_s:.0f}s: {names}")
        for c in [c for c in pending if c.conn in ready]:
            c.info = protocol.read_setup(c.conn, c.spec.name)
            pending.remove(c)


def victim_of(clients: list[Client]) -> Client | None:
    return next((c for c in clients if c.spec.role == "victim"), None)


def record_start(
    log: HistoryWriter, scenario: Scenario, target: Target, clients: list[Client]
) -> float:
    """Fix the clients' shared t0 and write the run's start and each client's connection to
    the history; return t0 (monotonic)."""
    t0 = time.monotonic() + START_MARGIN_S
    log.set_t0(t0)
    log.write(
        "run",
        event="start",
        scenario=scenario.name,
        target=target.name,
        t0_monotonic=t0,
        dialect=scenario.dialect,
        dialect_exact=scenario.dialect_exact,
        transport=scenario.transport,
        phases=scenario.phases.spans(),
        clients=[c.spec.name for c in clients],
        scheduling={c.spec.name: c.info["sched"] for c in clients if c.info and "sched" in c.info},
        # each client's process id, to match the history with a kernel trace
        # (tests/benchmarks/server_wait.py)
        pids={c.spec.name: c.info["pid"] for c in clients if c.info and "pid" in c.info},
    )
    for c in clients:
        if isinstance(c.spec, WorkerSpec) and c.info and "local" in c.info:
            log.write(
                "client",
                name=c.spec.name,
                role=c.spec.role,
                host=c.spec.netns,
                local=c.info["local"],
                peer=c.info.get("peer"),
                dialect=c.info.get("dialect"),
                transport=c.spec.transport,
                **({"encrypted": True} if c.info.get("encrypted") else {}),
            )
    return t0


def start(clients: list[Client], t0: float) -> None:
    """Send every client the shared t0: their schedules run from it."""
    for c in clients:
        protocol.send_start(c.conn, t0)


def join(clients: list[Client], scenario: Scenario, t0: float, log: HistoryWriter) -> None:
    """Wait for every client to finish its phases; kill (and say so) one still running after
    the phases, two probe timeouts and ``DRAIN_S``."""
    end = t0 + scenario.phases.total_s + 2 * scenario.probe_timeout_s + DRAIN_S
    for c in clients:
        c.proc.join(max(0.0, end - time.monotonic()))
        if c.proc.is_alive():
            log.write(
                "info", process=c.spec.name, note="client still running after the run; killed"
            )
            c.proc.kill()


def stop(clients: list[Client], drop: Drop | None) -> None:
    """Kill and reap every client process still there; a victim killed before its release()
    left its cut on its host: the drop removes it. Call with signals held."""
    for c in clients:
        if c.proc.is_alive():
            c.proc.kill()
        c.proc.join(2)
        if isinstance(c.spec, WorkerSpec) and c.spec.role == "victim" and drop:
            drop.cleanup(c.spec.netns)  # killed before release(): its cut stays
