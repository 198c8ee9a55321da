"""Several drops in one run (``victims = N``, a [schedule]: harness.scenario.fault_schedule),
the runner's side: one Drop object per planned drop, a victim process per victim with its
drops (harness.procs.victims), the schedule in the history, and each drop's own evidence.

The evidence loop reads what the victims say (``ARMED``: the session the next drop acts on,
whose server-side row is looked up then; ``DROPPED``: it acted) and polls the server's row of
every drop that acted until its drop proves itself or ``evidence_timeout_s`` passes. Each
finding is a ``drop`` event with the drop's ``index``. Proof is server-side only: a target the
harness cannot look inside leaves every repeated drop unproven (an error, named)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from harness.drops import drop_for
from harness.drops.base import Drop
from harness.history import HistoryWriter
from harness.procs.protocol import ARMED, DROPPED, poll_victim, send_watching
from harness.procs.worker_spec import WorkerSpec
from harness.run.plan import events_path
from harness.run.spawn import Client
from harness.scenario.fault_schedule import PlannedDrop, plan_drops, victim_name
from harness.scenario.model import Scenario
from harness.targets.base import ServerSocket, Target

EVIDENCE_POLL_S = 0.05
DROP_REPORT_WAIT_S = 10.0  # after a drop's time, for its victim to say it acted


@dataclass
class Fault:
    """One planned drop, and what the runner learns of it."""

    planned: PlannedDrop
    drop: Drop  # the runner's object (its evidence state); the victim acts on a fork's copy
    before: ServerSocket | None = None  # the server's row of the session it acts on
    peer: str | None = None  # that session's local address (the server's peer)
    detail: dict | None = None  # what the victim reported when it acted
    deadline: float | None = None  # monotonic: no evidence by then is no evidence
    resolved: bool = False


def plan(scenario: Scenario, owner_pid: int) -> list[Fault] | None:
    """The run's drops, each with a Drop object of its own; None for a scenario of one
    victim and one drop (harness.run.evidence then proves it, as ever)."""
    if scenario.drop is None or (scenario.victims == 1 and scenario.schedule is None):
        return None
    planned = plan_drops(
        scenario.schedule, scenario.victims, scenario.phases.fault_start_s, scenario.drop.mode
    )

    def params(mode: str) -> dict:  # [drop.params] are the [drop] mode's
        return dict(scenario.drop.params) if scenario.drop and mode == scenario.drop.mode else {}

    return [Fault(p, drop_for(p.mode, params(p.mode), owner_pid)) for p in planned]


def victims(
    scenario: Scenario, target: Target, events_dir: Path, faults: list[Fault] | None
) -> list[WorkerSpec]:
    """A victim process per victim, each given its drops in time order."""
    if not faults:
        return []
    specs = []
    for v in range(1, scenario.victims + 1):
        mine = tuple((f.planned, f.drop) for f in faults if f.planned.victim == v)
        name = victim_name(v)
        specs.append(
            WorkerSpec(
                name=name,
                role="victim",
                netns=target.client_netns("victim"),
                endpoint=target.endpoint,
                events_path=events_path(events_dir, name),
                phases=scenario.phases,
                timeout_s=scenario.probe_timeout_s,
                dialect=scenario.dialect,
                transport=scenario.transport,
                drop=mine[0][1],
                scheduled=mine,
                victim_spec=scenario.victim,
                victim_number=v,
            )
        )
    return specs


def record_scheduled(log: HistoryWriter, faults: list[Fault] | None, clients: list[Client]) -> None:
    """Every drop as planned: its index, time, victim and mode; and what the server granted
    each victim at set-up (the first's is what the healthy clients contend for)."""
    for f in faults or ():
        p = f.planned
        log.write(
            "drop",
            event="scheduled",
            index=p.index,
            mode=p.mode,
            at_s=p.at_s,
            victim=victim_name(p.victim),
        )
    for c in clients if faults else ():
        if c.spec.role == "victim" and c.info and c.info.get("holding"):
            log.write("holding", victim=c.spec.name, **c.info["holding"])


def _rows(target: Target, peer: str) -> list[ServerSocket] | None:
    rows = target.server_sockets()
    return None if rows is None else [r for r in rows if r.peer == peer]


def _heard(f: Fault, msg: str, payload: dict, target: Target, conn) -> None:
    """What a victim said of its drop ``f`` (on ``conn``, its pipe)."""
    if msg == ARMED:
        if payload.get("local") is None:  # it could not log on again: the victim recorded why
            f.resolved = True
            return
        f.peer = payload["local"]
        rows = _rows(target, f.peer)
        f.before = rows[0] if rows else None
        send_watching(conn, f.planned.index)
    elif msg == DROPPED:
        f.detail = payload


def collect(
    scenario: Scenario,
    target: Target,
    faults: list[Fault] | None,
    clients: list[Client],
    log: HistoryWriter,
    t0: float,
) -> None:
    """Until every drop is proven, or unproven with its reason, or the time is up."""
    if not faults:
        return
    by_index = {f.planned.index: f for f in faults}
    victims_ = [c for c in clients if c.spec.role == "victim"]
    last_s = max(f.planned.at_s for f in faults)
    end = t0 + last_s + DROP_REPORT_WAIT_S + scenario.evidence_timeout_s

    def unproven(f: Fault, reason: str) -> None:
        f.resolved = True
        log.write(
            "drop", event="no_evidence", index=f.planned.index, mode=f.drop.mode, reason=reason
        )

    while any(not f.resolved for f in faults) and time.monotonic() < end:
        for c in list(victims_):
            try:
                while (got := poll_victim(c.conn)) is not None:
                    msg, payload = got
                    f = by_index.get(payload.get("index", -1))
                    if f and msg in (ARMED, DROPPED):
                        _heard(f, msg, payload, target, c.conn)
            except EOFError:  # the victim is gone; its drops still pending stay unproven
                victims_.remove(c)
        now = time.monotonic()
        for f in faults:
            if f.resolved or f.detail is None or f.peer is None:
                continue
            f.deadline = f.deadline or now + scenario.evidence_timeout_s
            before = f.before
            rows = target.server_flow(before.local, f.peer) if before else _rows(target, f.peer)
            if rows is None:
                unproven(f, f"target {target.name} offers no server-side view (repeated drops)")
                continue
            found = f.drop.evidence(before, rows, f.detail, None)
            if found:
                f.resolved = True
                log.write(
                    "drop",
                    event="evidence",
                    index=f.planned.index,
                    mode=f.drop.mode,
                    evidence=found,
                )
            elif now > f.deadline:
                states = [r.state for r in rows] or "none"
                unproven(
                    f,
                    f"no server-side evidence within {scenario.evidence_timeout_s:.1f}s "
                    f"(server rows for {f.peer}: {states})",
                )
        time.sleep(EVIDENCE_POLL_S)
    for f in faults:
        if not f.resolved:
            unproven(f, "the victim never reported this drop")


def cleanup(target: Target, faults: list[Fault] | None) -> None:
    """On every exit path, after the victims are gone: what any drop put on the victims'
    host (a victim killed before its release() leaves it), each drop's own. Idempotent."""
    for f in faults or ():
        f.drop.cleanup(target.client_netns("victim"))
