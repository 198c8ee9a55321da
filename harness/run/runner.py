"""Run one scenario against a started target. ``run_scenario`` only puts the steps in order;
each lives in the module named beside it:

1. ``rundirs``: the scenario's directory, and a directory of the run's own for the event
   files every process writes;
2. ``preflight``: what the scenario, the target, the drop or the server cannot do here (a
   skip), or no answer from the server (an error), before any client starts;
3. ``plan`` and ``spawn``: which client processes run on which hosts (``repeated``: the
   victims of a run of several drops); fork them and the canaries, and wait until each says
   ready;
4. ``evidence``: the server's side of the victim's connection before its drop (or a capture
   of its flow);
5. ``spawn``: fix the shared t0, record who runs where, send the start; the clients run
   their phases;
6. ``evidence``: wait for the victim's drop, then poll the server side for proof
   (``repeated``: each of several drops, its own);
7. ``spawn``: wait for the clients to finish, stop what is left (and the drop's cut);
   ``waits`` samples the server's own tables of the victim's holdings meanwhile;
8. ``waits``: the breaks the server sent the victim, from the capture; ``aftercare``:
   re-read the acknowledged writes, sweep the scratch files, take the server's
   own events;
9. ``rundirs`` and ``harness.checkers.verdict``: merge the history into history.jsonl and
   judge it;
10. ``reproducer``: a failing run of several drops leaves the scenario with their exact times.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from harness.checkers import crowd as crowd_checker
from harness.checkers.combination import negotiated
from harness.checkers.verdict import verdict
from harness.crowd.control import Crowd
from harness.drops import drop_for
from harness.errors import HarnessError
from harness.history import HistoryWriter
from harness.lab.capture import PacketCapture
from harness.lab.inns import signals_held
from harness.procs.protocol import HoldingNotGranted
from harness.results import ScenarioResult
from harness.run import (
    aftercare,
    evidence,
    plan,
    preflight,
    repeated,
    reproducer,
    rundirs,
    spawn,
    waits,
)
from harness.scenario.model import Scenario
from harness.targets.base import Target

RUNNER_EVENTS = "events-runner.jsonl"


def run_scenario(
    scenario: Scenario,
    target: Target,
    run_dir: Path,
    on_start: Callable[[float, Path], None] | None = None,
    capture: PacketCapture | None = None,
) -> ScenarioResult:
    """Run the scenario; return its result (verdict, reason, drop, probes, violations, history).

    ``run_dir`` is the scenario's own directory: the caller names it (never from the
    scenario's name unfiltered: see harness.run.rundirs: slug, prepare_run_dir).
    ``on_start(t0_monotonic, events_dir)`` is called once the clients' shared t0 is fixed
    (progress reads the clients' event files there). ``capture``: the run's packet capture,
    still running (harness.run.pcaps), for the breaks the server sent the victim."""
    rundirs.prepare_run_dir(run_dir)
    with rundirs.events_dir() as events_dir:
        log = HistoryWriter(events_dir / RUNNER_EVENTS, "runner")
        drop = (
            drop_for(scenario.drop.mode, scenario.drop.params, os.getpid())
            if scenario.drop
            else None
        )
        faults = repeated.plan(scenario, os.getpid())  # several drops; None: one (or none)
        single = None if faults else drop
        try:
            why = preflight.skip_reason(scenario, target, drop)
        except HarnessError as exc:  # no answer (a network error), or a configured server lacks it
            log.close()
            return ScenarioResult.errored(scenario.name, str(exc)).with_(extra={"negotiated": None})
        target.server_events()  # what the server logged before this run is not this run's
        if why:
            log.close()
            return ScenarioResult.skipped(scenario.name, why).with_(extra={"negotiated": None})
        clients: list[spawn.Client] = []
        sampler: waits.TableSampler | None = None
        not_granted = None  # why the server refused the victim's holding, where that is a skip
        crowd = Crowd(scenario, target, events_dir) if scenario.crowd else None
        try:
            if crowd:  # the crowd runs before the warm-up, every user logged on
                crowd_ready = crowd.start()
            spawn.fork(
                clients,
                plan.workers(scenario, target, events_dir, single)
                + repeated.victims(scenario, target, events_dir, faults)
                + plan.canaries(scenario, events_dir),
            )
            spawn.await_ready(clients)
            victim = spawn.victim_of(clients) if single else None
            watch = evidence.watch(target, victim, log)
            sampler = waits.sampler_for(scenario, target, victim, single, log)
            t0 = spawn.record_start(log, scenario, target, clients)
            evidence.record_scheduled(log, scenario, single, victim, watch)
            repeated.record_scheduled(log, faults, clients)
            if sampler:
                sampler.start()
            if crowd:
                log.write("crowd", event="ready", workers=crowd_ready.get("workers"))
                crowd.begin(t0)
            spawn.start(clients, t0)
            if on_start:
                on_start(t0, events_dir)
            evidence.collect(scenario, target, single, victim, watch, log, t0)
            repeated.collect(scenario, target, faults, clients, log, t0)
            spawn.join(clients, scenario, t0, log)
            if crowd:  # its figures, once the recovery phase is over
                crowd.finish(log)
        except HoldingNotGranted as exc:
            if target.grants_every_holding:  # a server the harness configured to grant it: a fault
                log.write("error", error=f"victim: {exc}")
            else:
                not_granted = f"target {target.name} does not grant the victim's holding: {exc}"
                log.write("info", note=not_granted)
        except HarnessError as exc:
            log.write("error", error=str(exc))
        finally:
            if sampler:
                sampler.stop()
            with signals_held():  # the clients and what the drop put on a host go, whatever comes
                spawn.stop(clients, drop)
                repeated.cleanup(target, faults)
                if crowd:
                    crowd.stop()
            waits.record_breaks(capture, waits.victim_address(clients) if single else None, log)
            aftercare.verify_writes(scenario, target, events_dir, log)
            aftercare.sweep_scratch(scenario, target, clients, events_dir, log)
            aftercare.record_server_events(target, log)
            log.close()
        events, history = rundirs.write_history(run_dir, events_dir)
    if not_granted:
        return ScenarioResult.skipped(scenario.name, not_granted).with_(
            history=str(history), extra={"negotiated": None}
        )
    result = verdict(
        events,
        scenario.bounds,
        scenario.probes,
        scenario.drop.mode if scenario.drop else None,
        host_stall_us=scenario.host_stall_ms * 1000 if scenario.host_stall_ms else None,
        access=plan.access_expectation(scenario, target),
    )
    result = crowd_checker.judge(result, events, scenario.crowd)
    result = result.with_(
        name=scenario.name,
        history=str(history),
        extra={**result.extra, "negotiated": negotiated(events)},
    )
    reproducer.write(run_dir, scenario, result)
    return result
