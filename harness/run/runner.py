"""Run one scenario against a started target: start the clients, schedule the drop, collect
evidence from the server side, merge the history, and compute the verdict from it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from harness.checkers.combination import negotiated
from harness.checkers.verdict import verdict
from harness.checkers.writes import acknowledged_writes, blocks_to_verify
from harness.clients import readback, scratch
from harness.clients.holdings import held_file_name
from harness.drops import Drop, drop_for
from harness.errors import HarnessError, HoldingNotGranted
from harness.history import HistoryWriter, merge, read_events
from harness.lab import owner
from harness.lab.capture import FlowCapture
from harness.lab.inns import FORK, call_in_netns, signals_held, start_holding_signals
from harness.probes import PROBES as PROBE_KINDS
from harness.procs.canary import CANARIES, canary_main
from harness.procs.pool import pool_main
from harness.procs.worker import WorkerSpec, worker_main
from harness.results import ScenarioResult
from harness.run.rundirs import prepare_run_dir
from harness.scenario.model import SESSION_PROBES, Scenario, unsupported
from harness.schedule import spread_staggers
from harness.targets.base import ServerSocket, Target

SETUP_TIMEOUT_S = 30.0
SETUP_S_PER_POOLED_SESSION = 0.05  # pools log their sessions on one after another
IDLE_PER_PROCESS = 250
# t0 is this far ahead of the moment every client is ready: enough for the start event and
# one pipe message per client (well under 10 ms); a client woken late only starts its
# unjudged warm-up late. Measured: 0.3 s was half of a scenario's fixed overhead.
START_MARGIN_S = 0.1
EVIDENCE_POLL_S = 0.05
# A shared prober's streams are placed at least this far apart where they can be: a logon
# takes about 10-20 ms of the process's interpreter (harness.schedule.spread_staggers).
SHARED_GAP_S = 0.04


@dataclass
class Worker:
    spec: WorkerSpec
    proc: BaseProcess
    conn: Connection
    info: dict | None = None  # what the client reported when ready (None before)

    @property
    def ready(self) -> dict[str, Any]:
        """The client's report from the end of its set-up."""
        if self.info is None:
            raise RuntimeError(f"{self.spec.name} has not reported ready")
        return self.info


def healthy_host(client_index: int, hosts: int) -> str:
    """The host role of healthy client ``client_index``: round robin over ``hosts`` hosts;
    the first is the one the session-less probers use too."""
    k = client_index % hosts
    return "healthy" if k == 0 else f"healthy{k + 1}"


def plan_workers(scenario: Scenario, target: Target, events_dir: Path, drop: Drop | None) -> list[WorkerSpec]:
    """One process per prober, per healthy client, and the victim, each on its host."""
    ep = target.endpoint
    # what every process's WorkerSpec shares (keyword arguments)
    common: dict[str, Any] = {"endpoint": ep, "phases": scenario.phases,
                              "timeout_s": scenario.probe_timeout_s, "dialect": scenario.dialect,
                              "transport": scenario.transport, "victim_spec": scenario.victim}
    session_probes = [p for p in SESSION_PROBES if scenario.rates_hz.get(p, 0) > 0]
    n = scenario.healthy_clients
    per_process = scenario.sessions_per_process
    pooled = [p for p in session_probes if per_process > 1 and PROBE_KINDS[p].poolable]
    # Every prober process sends at times of its own, as far from the others' as they can be
    # (schedule.spread_staggers): session-less probers first, then each client's own.
    shared = [p for p in scenario.probes if PROBE_KINDS[p].shared]
    loners = [p for p in scenario.probes if p not in SESSION_PROBES and p not in shared]
    own = [(i, p) for i in range(n) for p in session_probes if p not in pooled and p not in shared]
    together = [(i, p) for i in range(n) for p in shared]  # each client's shared prober
    rates = ([scenario.rates_hz[p] for p in loners] + [scenario.rates_hz[p] for _, p in own]
             + [scenario.rates_hz[p] for _, p in together])
    groups: list[int | None] = [None] * (len(loners) + len(own)) + [i for i, _ in together]
    spread = spread_staggers(rates, groups=groups, group_gap_s=SHARED_GAP_S)
    staggers = iter(spread[:len(loners) + len(own)])
    shared_staggers = {(i, p): st for (i, p), st
                       in zip(together, spread[len(loners) + len(own):], strict=True)}
    # session-less probers: a process each
    specs = [WorkerSpec(name=probe, role="healthy", netns=target.client_netns("healthy"),
                        events_path=str(events_dir / f"events-{probe}.jsonl"),
                        rates_hz={probe: scenario.rates_hz[probe]}, stagger=next(staggers),
                        **common)
             for probe in loners]
    for i, probe in own:
        # a session of its own per probe: an echo never waits behind a write and read
        name = f"c{i + 1}_{probe}"
        specs.append(WorkerSpec(name=name, role="healthy",
                                netns=target.client_netns(healthy_host(i, scenario.healthy_hosts)),
                                events_path=str(events_dir / f"events-{name}.jsonl"),
                                rates_hz={probe: scenario.rates_hz[probe]}, stagger=next(staggers),
                                **common))
    for i in range(n if shared else 0):  # every shared probe of a client: one process
        name = f"c{i + 1}_shared"
        specs.append(WorkerSpec(name=name, role="healthy",
                                netns=target.client_netns(healthy_host(i, scenario.healthy_hosts)),
                                events_path=str(events_dir / f"events-{name}.jsonl"),
                                rates_hz={p: scenario.rates_hz[p] for p in shared}, shared=True,
                                staggers={p: shared_staggers[(i, p)] for p in shared}, **common))
    for probe in pooled:  # many sessions per process, each on its own schedule
        for j, first in enumerate(range(0, n, per_process)):
            name = f"p{j + 1}_{probe}"
            specs.append(WorkerSpec(name=name, role="healthy",
                                    netns=target.client_netns(healthy_host(j, scenario.healthy_hosts)),
                                    events_path=str(events_dir / f"events-{name}.jsonl"),
                                    rates_hz={probe: scenario.rates_hz[probe]}, pool=True,
                                    sessions=min(per_process, n - first), first_index=first,
                                    all_sessions=n, **common))
    for j, first in enumerate(range(0, scenario.idle_sessions, IDLE_PER_PROCESS)):
        name = f"idle{j + 1}"
        specs.append(WorkerSpec(name=name, role="healthy",
                                netns=target.client_netns(healthy_host(j, scenario.healthy_hosts)),
                                events_path=str(events_dir / f"events-{name}.jsonl"), pool=True,
                                idle=True, sessions=min(IDLE_PER_PROCESS, scenario.idle_sessions - first),
                                **common))
    if drop:
        specs.append(WorkerSpec(name="victim", role="victim", netns=target.client_netns("victim"),
                                events_path=str(events_dir / "events-victim.jsonl"),
                                drop=drop, **common))
    return specs


def _victim_rows(target: Target, peer: str) -> list[ServerSocket] | None:
    rows = target.server_sockets()
    return None if rows is None else [r for r in rows if r.peer == peer]


RUNNER_EVENTS = "events-runner.jsonl"
def run_scenario(scenario: Scenario, target: Target, run_dir: Path,
                 on_start: Callable[[float, Path], None] | None = None) -> ScenarioResult:
    """Run the scenario; return its result (verdict, reason, drop, probes, violations, history).

    ``run_dir`` is the scenario's own directory: the caller names it (never from the
    scenario's name unfiltered: see harness.run.rundirs: slug, prepare_run_dir).
    ``on_start(t0_monotonic, events_dir)`` is called once the clients' shared t0 is fixed
    (progress reads the clients' event files there)."""
    prepare_run_dir(run_dir)
    # This run's per-process event files live in a directory of its own (removed at the end,
    # or by `cleanup` once this process is dead): another run writing the same report
    # directory (a second command, a pytest-xdist worker) can neither delete nor mix them.
    owner.register()  # cleanup proves the events dir (and the drop's rules) this run's
    events_dir = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-events-"))
    try:
        return _run_scenario(scenario, target, run_dir, events_dir, on_start)
    finally:
        with signals_held():  # a signal now would cut the removal short
            shutil.rmtree(events_dir, ignore_errors=True)


def _run_scenario(scenario: Scenario, target: Target, run_dir: Path, events_dir: Path,
                  on_start: Callable[[float, Path], None] | None) -> ScenarioResult:
    log = HistoryWriter(events_dir / RUNNER_EVENTS, "runner")
    workers: list[Worker] = []
    drop = drop_for(scenario.drop.mode, scenario.drop.params, os.getpid()) if scenario.drop else None
    # What the dialect x transport cannot express (a matrix cell), what the target lacks,
    # what the drop needs; then whether the server gives the combination at all (one
    # NEGOTIATE per combination and target, before this run's server events are counted).
    why = unsupported(scenario) or target.unsupported(scenario)
    if drop and not why:
        why = drop.unsupported(target.client_netns("victim"))
    sessions = drop or scenario.idle_sessions or any(scenario.rates_hz.get(p, 0) > 0 for p in SESSION_PROBES)
    if sessions and not why:
        try:
            why = target.offers(scenario.dialect, scenario.transport)
        except HarnessError as exc:  # no answer (a network error), or a configured server lacks it
            log.close()
            return ScenarioResult.errored(scenario.name, str(exc)).with_(extra={"negotiated": None})
    target.server_events()  # what the server logged before this run is not this run's
    if why:
        log.close()
        return ScenarioResult.skipped(scenario.name, why).with_(extra={"negotiated": None})
    not_granted = None  # why the server refused the victim's holding, where that is a skip
    try:
        _run(scenario, target, drop, events_dir, log, workers, on_start)
    except HoldingNotGranted as exc:
        if target.grants_every_holding:  # a server the harness configured to grant it: a fault
            log.write("error", error=f"victim: {exc}")
        else:
            not_granted = f"target {target.name} does not grant the victim's holding: {exc}"
            log.write("info", note=not_granted)
    except HarnessError as exc:
        log.write("error", error=str(exc))
    finally:
        with signals_held():  # the clients and what the drop put on a host go, whatever comes
            for w in workers:
                if w.proc.is_alive():
                    w.proc.kill()
                w.proc.join(2)
                if w.spec.role == "victim" and drop:  # killed before release(): its cut stays
                    drop.cleanup(w.spec.netns)
        _verify_writes(scenario, target, events_dir, log)
        _sweep_scratch(target, workers, log, events_dir.name,
                       held_file_name(os.getpid(), events_dir.name) if scenario.victim else None)
        for e in target.server_events():
            t = e.pop("t_monotonic", None)
            log.write("server", t_s=None if t is None or log.t0 is None else t - log.t0, **e)
        log.close()
    events = merge(sorted(events_dir.glob("events-*.jsonl")), run_dir / "history.jsonl")
    if not_granted:
        return ScenarioResult.skipped(scenario.name, not_granted).with_(
            history=str(run_dir / "history.jsonl"), extra={"negotiated": None})
    result = verdict(events, scenario.bounds, scenario.probes,
                     scenario.drop.mode if scenario.drop else None,
                     host_stall_us=scenario.host_stall_ms * 1000 if scenario.host_stall_ms else None,
                     access=access_expectation(scenario, target))
    return result.with_(name=scenario.name, history=str(run_dir / "history.jsonl"),
                        extra={**result.extra, "negotiated": negotiated(events)})


def _verify_writes(scenario: Scenario, target: Target, events_dir: Path, log: HistoryWriter) -> None:
    """After the recovery phase: re-read every block whose write the server acknowledged (the
    healthy clients' smb_rw, the victim's own data before its drop), from a fresh session, and
    record what is there (one ``verify`` event per file); judged by harness.checkers.writes."""
    parts = sorted(events_dir.glob("events-c*.jsonl")) + sorted(events_dir.glob("events-victim.jsonl"))
    events = [e for p in parts for e in read_events(p)]
    files = blocks_to_verify(acknowledged_writes(events))
    if not files:
        return
    try:
        found = call_in_netns(target.client_netns("healthy"), readback.reread, target.endpoint, files,
                              readback.READBACK_TIMEOUT_S, scenario.dialect,
                              timeout_s=4 * readback.READBACK_TIMEOUT_S + len(files))
    except HarnessError as exc:
        found = [{"file": f, "blocks": {}, "error": str(exc)} for f in files]
    for entry in found:
        log.write("verify", **entry)


def access_expectation(scenario: Scenario, target: Target) -> dict | None:
    """What the access checker judges: the contended probe, the holding and its bound."""
    contended = [p for p in scenario.probes if PROBE_KINDS[p].judged_by_access]
    if not contended or not scenario.victim:
        return None
    return {"probe": contended[0], "holds": scenario.victim.holds,
            "max_wait_s": scenario.victim.max_wait_for(target.name, target.kind),
            "max_answer_s": scenario.victim.max_answer_s}


def _sweep_scratch(target: Target, workers: list[Worker], log: HistoryWriter, run_tag: str,
                   held_file: str | None = None) -> None:
    """Remove the scratch files and directories this run's clients left on the share, and
    the run's held file (``held_file``: the victim creates it before taking its holding)."""
    # Only processes that had a session created any; one that never said ready (its set-up
    # failed: a victim whose holding was refused) may have, before it failed.
    pids = [w.proc.pid for w in workers if w.spec.role != "canary" and w.proc.pid
            and (w.info is None or "peer" in w.info)]
    held = (held_file,) if held_file else ()
    if not workers or (not pids and not held):
        return
    try:
        swept = call_in_netns(target.client_netns("healthy"), scratch.sweep, target.endpoint, pids,
                              scratch.SWEEP_TIMEOUT_S, workers[0].spec.dialect,
                              workers[0].spec.transport, held, run_tag,
                              timeout_s=2 * scratch.SWEEP_TIMEOUT_S + scratch.SWEEP_WAIT_S)
    except HarnessError as exc:
        log.write("info", note=f"scratch files not removed: {exc}")
        return
    log.write("scratch", **swept)


def _run(scenario: Scenario, target: Target, drop: Drop | None, events_dir: Path,
         log: HistoryWriter, workers: list[Worker],
         on_start: Callable[[float, Path], None] | None = None) -> None:
    for spec in plan_workers(scenario, target, events_dir, drop):
        parent, child = FORK.Pipe()
        main = pool_main if spec.pool else worker_main
        proc = FORK.Process(target=main, args=(spec, child), name=f"nbth-{spec.name}", daemon=True)
        start_holding_signals(proc)
        child.close()
        workers.append(Worker(spec, proc, parent))
    for name, realtime in CANARIES:
        parent, child = FORK.Pipe()
        canary = FORK.Process(target=canary_main, name=f"nbth-{name}", daemon=True,
                              args=(str(events_dir / f"events-{name}.jsonl"), scenario.phases.total_s,
                                    child, os.getpid(), realtime, name))
        start_holding_signals(canary)
        child.close()
        workers.append(Worker(WorkerSpec(name=name, role="canary", netns=None, endpoint=target.endpoint,
                                         events_path="", phases=scenario.phases), canary, parent))

    # Set-up: every worker reports ready or an error, within the set-up timeout.
    pooled = sum(w.spec.sessions for w in workers if w.spec.pool)
    setup_timeout_s = SETUP_TIMEOUT_S + SETUP_S_PER_POOLED_SESSION * pooled
    deadline = time.monotonic() + setup_timeout_s
    pending = list(workers)
    while pending:
        ready = wait([w.conn for w in pending], timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            names = ", ".join(w.spec.name for w in pending)
            raise HarnessError(f"clients not ready within {setup_timeout_s:.0f}s: {names}")
        for w in [w for w in pending if w.conn in ready]:
            try:
                msg, info = w.conn.recv()
            except EOFError:
                raise HarnessError(f"{w.spec.name}: client process died during set-up") from None
            if msg == "not_granted":
                raise HoldingNotGranted(info)
            if msg == "error":
                raise HarnessError(info)
            w.info = info
            pending.remove(w)

    victim = next((w for w in workers if w.spec.role == "victim"), None)
    before = None
    rows = None
    if victim:
        rows = _victim_rows(target, victim.ready["local"])
        before = rows[0] if rows else None

    capture = None  # a server the harness cannot look inside (rows None): capture our side
    if victim and rows is None and target.client_netns("victim") is None:
        try:
            capture = FlowCapture(victim.ready["local"], victim.ready["peer"]).start()
        except OSError as exc:  # no root: no AF_PACKET
            log.write("info", note=f"no capture of the victim's flow: {exc}")
    t0 = time.monotonic() + START_MARGIN_S
    log.set_t0(t0)
    log.write("run", event="start", scenario=scenario.name, target=target.name, t0_monotonic=t0,
              dialect=scenario.dialect, dialect_exact=scenario.dialect_exact,
              transport=scenario.transport,
              phases=scenario.phases.spans(), clients=[w.spec.name for w in workers],
              scheduling={w.spec.name: w.info["sched"] for w in workers
                          if w.info and "sched" in w.info},
              # each client's process id, to match the history with a kernel trace
              # (tests/benchmarks/server_wait.py)
              pids={w.spec.name: w.info["pid"] for w in workers if w.info and "pid" in w.info})
    for w in workers:
        if w.info and "local" in w.info:
            log.write("client", name=w.spec.name, role=w.spec.role, host=w.spec.netns,
                      local=w.info["local"], peer=w.info.get("peer"),
                      dialect=w.info.get("dialect"), transport=w.spec.transport,
                      **({"encrypted": True} if w.info.get("encrypted") else {}))
    if drop:
        log.write("drop", event="scheduled", mode=drop.mode, at_s=scenario.phases.fault_start_s,
                  victim=victim.ready.get("local") if victim else None,
                  server_socket_before=before.to_json() if before else None)
    if victim and victim.ready.get("holding"):  # what the server granted the victim at set-up
        log.write("holding", **victim.ready["holding"])
    for w in workers:
        w.conn.send(("start", t0))
    if on_start:
        on_start(t0, events_dir)

    if victim:
        try:
            _collect_evidence(scenario, target, drop, victim, before, log, t0, capture)
        finally:
            if capture:
                capture.stop()

    end = t0 + scenario.phases.total_s + 2 * scenario.probe_timeout_s + 5.0
    for w in workers:
        w.proc.join(max(0.0, end - time.monotonic()))
        if w.proc.is_alive():
            log.write("info", process=w.spec.name, note="client still running after the run; killed")
            w.proc.kill()


def _collect_evidence(scenario, target, drop, victim: Worker, before, log: HistoryWriter, t0: float,
                      capture: FlowCapture | None) -> None:
    """Wait for the victim's drop, then poll the server's TCP table (or, for a server the
    harness cannot look inside, the capture of the victim's flow) for proof."""
    wait_until = t0 + scenario.phases.fault_start_s + 10.0
    drop_at = t0 + scenario.phases.fault_start_s
    detail: dict = {}
    while time.monotonic() < wait_until:
        if victim.conn.poll(0.05):
            try:
                msg, payload = victim.conn.recv()
            except EOFError:
                break
            if msg == "dropped":
                detail = payload
                break
        elif not victim.proc.is_alive():
            break
    else:
        log.write("drop", event="no_evidence", mode=drop.mode, reason="the victim never reported its drop")
        return
    peer = victim.ready["local"]
    drop.victim_events_path = victim.spec.events_path  # for drops proven by the victim's record
    deadline = time.monotonic() + scenario.evidence_timeout_s
    rows: list | None = []
    while True:
        exitcode = victim.proc.exitcode
        # one lookup of the known connection (no table walk, no process) while the phases run
        rows = target.server_flow(before.local, peer) if before else _victim_rows(target, peer)
        if rows is None:  # a server the harness cannot look inside: its own side's capture
            found = capture and drop.client_evidence(capture.snapshot(), drop_at, detail, exitcode)
        else:
            found = drop.evidence(before, rows, detail, exitcode)
        if found:
            log.write("drop", event="evidence", mode=drop.mode, evidence=found)
            return
        if time.monotonic() > deadline:
            break
        time.sleep(EVIDENCE_POLL_S)
    if rows is None:
        seen = capture.snapshot() if capture else []
        flags = [f"{c.direction}:{c.segment.flags:#04x}" for c in seen if c.t_monotonic >= drop_at]
        why = (f"no evidence from the harness's side within {scenario.evidence_timeout_s:.1f}s "
               f"({len(seen)} segments of {peer} captured; after the drop: {flags[:12]})" if capture else
               f"target {target.name} offers no server-side view and no capture was possible")
    else:
        why = (f"no server-side evidence within {scenario.evidence_timeout_s:.1f}s "
               f"(server rows for {peer}: {[r.state for r in rows] or 'none'}, "
               f"victim exit {victim.proc.exitcode})")
    log.write("drop", event="no_evidence", mode=drop.mode, reason=why)
