"""Detection power: how small a Q186873-style stall the default bounds catch, and how often
they raise a false alarm on a healthy server. A benchmark, not a test.

    sudo .venv/bin/python -m tests.benchmarks.detection_power --runs 20

For every setting it starts the target once and runs the scenario --runs times: the plain
embedded Samba (every fail is a false alarm), the fair relay replica:never (false alarms of
the extra hop), and the replica freezing for each --holds-ms or degrading by each
--degrades-ms (every fail is a detection). Phases and rates are the scenario's own (the
shipped defaults) unless --set overrides them. Prints one table row per setting; the same
runs are also re-judged by the excursion rule alone at each --margins-ms (column "exc@m",
pure re-judging of each run's probe table), by the correlated-excursion rule alone at each
--corr-margins-ms (column "cor@m", the same runs' histories re-judged), and the canary's view
of the machine is given (host stalls per run, of them the normal-priority canary's, worst
stall; "n>5ms": the normal-priority canary's wake-ups over 5 ms late, per run), with the load average before and after each setting (the machine is shared).

Then, from the healthy Samba runs' own schedules and latencies, the probability that a
freeze of --coverage-freeze-ms starting at a uniformly random instant of the fault phase
meets probes of at least 1 and of at least 2 processes far enough above their baseline
maximum to be excursions at each correlated margin (``freeze_coverage``): what the probe
rates allow at best, whatever the statistics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness.checkers.bounds import Bound, Bounds, check_bounds
from harness.checkers.verdict import verdict
from harness.history import read_events
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.targets.local import LocalSamba
from harness.targets.replica import ReplicaTarget



NO_FLOORS = dict(p99_floor_ms=3.6e6, max_floor_ms=3.6e6, max_errors=10**9)


def correlated_alone(events: list[dict], probes: list[str], margin_ms: float) -> bool:
    """Whether the correlated-excursion rule alone (floors and error counts off) fails the run."""
    result = verdict(events, Bounds(Bound(**NO_FLOORS, correlated_margin_ms=margin_ms)), probes, None)
    return any(v.stat == "correlated" for v in result.violations)


def freeze_coverage(sends: list[tuple[str, str, float]], service_s: dict[str, float],
                    base_max_s: dict[str, float], freeze_s: float, margin_s: float,
                    start_s: float, end_s: float, min_streams: int, step_s: float = 0.0005) -> float:
    """Share of freeze start times T on a grid over [start_s, end_s - freeze_s) at which at
    least ``min_streams`` processes have an operation a freeze [T, T + freeze_s] makes an
    excursion. ``sends``: (process, probe, sent_s). An operation sent at s (usual service
    ``service_s[probe]``) is released at T + freeze_s, so its latency is about
    T + freeze_s - s + service; it is an excursion when that exceeds ``base_max_s[probe]``
    + margin, and it is held when it is still in flight at T (s >= T - service). Pure."""
    by_probe: dict[str, list[tuple[float, str]]] = {}
    for process, probe, sent_s in sends:
        if probe in service_s and probe in base_max_s:
            by_probe.setdefault(probe, []).append((sent_s, process))
    for v in by_probe.values():
        v.sort()
    hits = total = 0
    t = start_s
    while t < end_s - freeze_s:
        procs: set[str] = set()
        for probe, lst in by_probe.items():
            svc = service_s[probe]
            lo = t - svc
            hi = t + freeze_s + svc - base_max_s[probe] - margin_s  # sent before: excursion
            if hi <= lo:
                continue
            for sent_s, process in lst:  # short lists: a run's few hundred sends
                if lo <= sent_s < hi:
                    procs.add(process)
        hits += len(procs) >= min_streams
        total += 1
        t += step_s
    return hits / total if total else 0.0


def coverage_inputs(events: list[dict]) -> tuple[list, dict, dict, tuple[float, float]]:
    """(sends, median service per probe, baseline max per probe, fault phase span) of a run."""
    invokes = {(e.get("process"), e["probe"], e["seq"]): e for e in events
               if e.get("type") == "invoke" and "probe" in e}
    sends, service, base_max = [], {}, {}
    for e in events:
        if e.get("type") != "ok" or "probe" not in e or e.get("role") != "healthy":
            continue
        inv = invokes.get((e.get("process"), e["probe"], e["seq"]))
        if inv is None or e.get("sent_s") is None:
            continue
        sends.append((e["process"], e["probe"], e["sent_s"]))
        service.setdefault(e["probe"], []).append(e["service_us"] / 1e6)
        if inv.get("phase") == "baseline":
            base_max[e["probe"]] = max(base_max.get(e["probe"], 0.0), e["latency_us"] / 1e6)
    phases = next(e["phases"] for e in events if e.get("type") == "run" and e.get("event") == "start")
    fault = next((a, b) for name, a, b in phases if name == "fault")
    return sends, {k: statistics.median(v) for k, v in service.items()}, base_max, fault


def settings(holds_ms: list[float], degrades_ms: list[float], hold_for_degrade_s: float):
    yield "healthy samba", False, lambda: LocalSamba()
    yield "replica:never", False, lambda: ReplicaTarget("never")
    for h in holds_ms:
        yield f"freeze {h:g} ms", True, lambda h=h: ReplicaTarget("any", hold_s=h / 1000.0)
    for d in degrades_ms:
        yield (f"degrade +{d:g} ms for {hold_for_degrade_s:g}s", True,
               lambda d=d: ReplicaTarget("any", hold_s=hold_for_degrade_s, degrade_ms=d))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--scenario", default="rst")
    p.add_argument("--holds-ms", default="20,50,100")
    p.add_argument("--degrades-ms", default="10,20")
    p.add_argument("--margins-ms", default="2,5,10",
                   help="excursion margins to re-judge every run with (0 or empty: none)")
    p.add_argument("--corr-margins-ms", default="3,5,10",
                   help="correlated-excursion margins to re-judge every run's history with")
    p.add_argument("--coverage-freeze-ms", type=float, default=20.0)
    p.add_argument("--degrade-hold-s", type=float, default=1.0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--server-rt", action="store_true",
                   help="run the embedded smbd/nmbd at SCHED_RR (LocalSamba.raise_server_priority, "
                        "opt-in), to measure what that changes")
    args = p.parse_args(argv)
    if args.server_rt:
        LocalSamba.raise_server_priority = True  # ReplicaTarget's upstream Samba too
    overrides = dict(kv.split("=", 1) for kv in args.set)
    scenario = resolve([args.scenario])[0].with_overrides(overrides)
    holds = [float(x) for x in args.holds_ms.split(",") if x]
    degrades = [float(x) for x in args.degrades_ms.split(",") if x]
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-bench-"))  # cleanup finds it if we die
    try:
        return _run(args, scenario, holds, degrades, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args, scenario, holds, degrades, work: Path) -> int:
    print(f"scenario {scenario.name}, {args.runs} runs per setting, bounds {scenario.bounds.default}")
    margins = [float(x) for x in args.margins_ms.split(",") if x and float(x) > 0]
    corr_margins = [float(x) for x in args.corr_margins_ms.split(",") if x and float(x) > 0]
    print(f"phases {scenario.phases}, rates {scenario.rates_hz}, embedded smbd/nmbd at "
          f"{'SCHED_RR (harness.targets.local)' if args.server_rt else 'normal priority'}")
    exc_head = "".join(f" {'exc@' + format(m, 'g'):>7}" for m in margins)
    cor_head = "".join(f" {'cor@' + format(m, 'g'):>7}" for m in corr_margins)
    print(f"{'setting':<28} {'runs':>4} {'fail':>4} {'error':>5} {'rate':>6}  {'expect':<10} "
          f"{'median worst/limit':>18}{exc_head}{cor_head}  {'stalls/run':>10} {'normal':>6} {'n>5ms':>6} {'worst ms':>8}  "
          f"{'s/run':>5}  {'load before/after':>17}")
    healthy_histories: list[list[dict]] = []
    for label, stall_expected, make in settings(holds, degrades, args.degrade_hold_s):
        fails = errors = 0
        ratios = []
        exc_fails = dict.fromkeys(margins, 0)
        cor_fails = dict.fromkeys(corr_margins, 0)
        stalls, normal_stalls, normal_late, worst_stall_us = [], [], [], 0
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        with make() as target:
            for i in range(args.runs):
                r = run_scenario(scenario, target, work / label.replace(" ", "_") / str(i))
                fails += r.verdict == "fail"
                errors += r.verdict == "error"
                worst = max((v.observed_us / v.limit_us for v in r.violations if v.limit_us),
                            default=0.0)
                ratios.append(worst)
                hs = r.get("host_stalls") or {}
                stalls.append(hs.get("count", 0))
                worst_stall_us = max(worst_stall_us, hs.get("worst_us", 0))
                for m in margins:
                    alt = Bounds(Bound(**NO_FLOORS, excursion_margin_ms=m))
                    viol, _ = check_bounds(r["probes"], alt, scenario.probes)
                    exc_fails[m] += bool(viol)
                events = list(read_events(Path(r.history))) if r.history else []
                normal_stalls.append(sum(1 for e in events if e.get("type") == "canary"
                                         and e.get("process") == "canary_normal"
                                         and e.get("late_us", 0) > scenario.host_stall_ms * 1000))
                normal_late.append(sum(1 for e in events if e.get("type") == "canary"
                                       and e.get("process") == "canary_normal"))  # > 5 ms late
                for m in corr_margins:
                    cor_fails[m] += bool(events) and correlated_alone(events, scenario.probes, m)
                if label == "healthy samba" and events:
                    healthy_histories.append(events)
        rate = fails / args.runs
        per_run = (time.monotonic() - started) / args.runs
        print(f"{label:<28} {args.runs:>4} {fails:>4} {errors:>5} {rate:>6.0%}  "
              f"{'detect' if stall_expected else 'no alarm':<10} "
              f"{statistics.median(ratios):>18.2f}"
              + "".join(f" {exc_fails[m]:>7}" for m in margins)
              + "".join(f" {cor_fails[m]:>7}" for m in corr_margins)
              + f"  {statistics.mean(stalls):>10.1f} {statistics.mean(normal_stalls):>6.1f}"
              + f" {statistics.mean(normal_late):>6.1f}"
              + f" {worst_stall_us / 1000:>8.1f}  {per_run:>5.1f}"
              + f"  {load_before:>8.2f}/{os.getloadavg()[0]:<8.2f}",
              flush=True)
    _print_coverage(healthy_histories, corr_margins, args.coverage_freeze_ms / 1000.0)
    return 0


def _print_coverage(histories: list[list[dict]], margins: list[float], freeze_s: float) -> None:
    """Mean over the healthy runs of freeze_coverage, for 1 and 2 processes, at each margin."""
    if not histories or not margins:
        return
    print(f"a {freeze_s * 1000:g} ms freeze at a random instant of the fault phase, from the "
          f"healthy runs' schedules and latencies (mean of {len(histories)} runs):")
    for m in margins:
        row = []
        for streams in (1, 2):
            shares = []
            for events in histories:
                sends, service, base_max, (a, b) = coverage_inputs(events)
                shares.append(freeze_coverage(sends, service, base_max, freeze_s, m / 1000.0,
                                              a, b, streams))
            row.append(statistics.mean(shares))
        print(f"  margin {m:g} ms: met by >= 1 process {row[0]:.0%}, by >= 2 processes {row[1]:.0%}",
              flush=True)

if __name__ == "__main__":
    sys.exit(main())
