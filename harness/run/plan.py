"""The plan of one scenario run, pure: which client processes it forks, on which hosts, with
which probes and schedules, and what access the checker expects. It reads the scenario and
the target's description (its endpoint, the namespace of each client role); it starts
nothing and talks to no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.drops.base import Drop
from harness.probes import PROBES as PROBE_KINDS
from harness.procs.canary import CANARIES, CanarySpec
from harness.procs.worker_spec import WorkerSpec
from harness.scenario.model import SESSION_PROBES, Scenario
from harness.schedule import spread_staggers
from harness.targets.base import Target

IDLE_PER_PROCESS = 250
# A shared prober's streams are placed at least this far apart where they can be: a logon
# takes about 10-20 ms of the process's interpreter (harness.schedule.spread_staggers).
SHARED_GAP_S = 0.04


def healthy_host(client_index: int, hosts: int) -> str:
    """The host role of healthy client ``client_index``: round robin over ``hosts`` hosts;
    the first is the one the session-less probers use too."""
    k = client_index % hosts
    return "healthy" if k == 0 else f"healthy{k + 1}"


def needs_sessions(scenario: Scenario, drop: Drop | None) -> bool:
    """Whether any client of the run logs on to the server (a victim, an idle pool, a
    session probe at a rate above zero)."""
    return bool(
        drop
        or scenario.idle_sessions
        or any(scenario.rates_hz.get(p, 0) > 0 for p in SESSION_PROBES)
    )


def events_path(events_dir: Path, name: str) -> str:
    """The event file of the client process ``name``."""
    return str(events_dir / f"events-{name}.jsonl")


def workers(
    scenario: Scenario, target: Target, events_dir: Path, drop: Drop | None
) -> list[WorkerSpec]:
    """One process per prober, per healthy client, and the victim, each on its host."""
    specs = []
    # what every process's WorkerSpec shares (keyword arguments)
    common: dict[str, Any] = {
        "endpoint": target.endpoint,
        "phases": scenario.phases,
        "timeout_s": scenario.probe_timeout_s,
        "dialect": scenario.dialect,
        "transport": scenario.transport,
        "victim_spec": scenario.victim,
    }
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
    rates = (
        [scenario.rates_hz[p] for p in loners]
        + [scenario.rates_hz[p] for _, p in own]
        + [scenario.rates_hz[p] for _, p in together]
    )
    groups: list[int | None] = [None] * (len(loners) + len(own)) + [i for i, _ in together]
    spread = spread_staggers(rates, groups=groups, group_gap_s=SHARED_GAP_S)
    staggers = iter(spread[: len(loners) + len(own)])
    shared_staggers = {
        (i, p): st for (i, p), st in zip(together, spread[len(loners) + len(own) :], strict=True)
    }

    def healthy(name: str, host: str, **kw: Any) -> WorkerSpec:
        """A healthy client process ``name`` on lab host ``host``."""
        return WorkerSpec(
            name=name,
            role="healthy",
            netns=target.client_netns(host),
            events_path=events_path(events_dir, name),
            **common,
            **kw,
        )

    def hosted(index: int) -> str:
        return healthy_host(index, scenario.healthy_hosts)

    # session-less probers: a process each
    specs += [
        healthy(
            probe, "healthy", rates_hz={probe: scenario.rates_hz[probe]}, stagger=next(staggers)
        )
        for probe in loners
    ]
    # a session of its own per probe: an echo never waits behind a write and read
    specs += [
        healthy(
            f"c{i + 1}_{probe}",
            hosted(i),
            rates_hz={probe: scenario.rates_hz[probe]},
            stagger=next(staggers),
        )
        for i, probe in own
    ]
    specs += [  # every shared probe of a client: one process
        healthy(
            f"c{i + 1}_shared",
            hosted(i),
            rates_hz={p: scenario.rates_hz[p] for p in shared},
            shared=True,
            staggers={p: shared_staggers[(i, p)] for p in shared},
        )
        for i in range(n if shared else 0)
    ]
    for probe in pooled:  # many sessions per process, each on its own schedule
        specs += [
            healthy(
                f"p{j + 1}_{probe}",
                hosted(j),
                rates_hz={probe: scenario.rates_hz[probe]},
                pool=True,
                sessions=min(per_process, n - first),
                first_index=first,
                all_sessions=n,
            )
            for j, first in enumerate(range(0, n, per_process))
        ]
    idle = scenario.idle_sessions
    specs += [
        healthy(
            f"idle{j + 1}",
            hosted(j),
            pool=True,
            idle=True,
            sessions=min(IDLE_PER_PROCESS, idle - first),
        )
        for j, first in enumerate(range(0, idle, IDLE_PER_PROCESS))
    ]
    if drop:
        specs.append(
            WorkerSpec(
                name="victim",
                role="victim",
                netns=target.client_netns("victim"),
                events_path=events_path(events_dir, "victim"),
                drop=drop,
                **common,
            )
        )
    return specs


def canaries(scenario: Scenario, events_dir: Path) -> list[CanarySpec]:
    """The two canaries (real-time and normal priority), for the whole of the phases."""
    return [
        CanarySpec(
            name=name,
            realtime=realtime,
            events_path=events_path(events_dir, name),
            total_s=scenario.phases.total_s,
        )
        for name, realtime in CANARIES
    ]


def access_expectation(scenario: Scenario, target: Target) -> dict | None:
    """What the access checker judges: the contended probe, the holding and its bound."""
    contended = [p for p in scenario.probes if PROBE_KINDS[p].judged_by_access]
    if not contended or not scenario.victim:
        return None
    return {
        "probe": contended[0],
        "holds": scenario.victim.holds,
        "max_wait_s": scenario.victim.max_wait_for(target.name, target.kind),
        "max_answer_s": scenario.victim.max_answer_s,
    }
