"""Detection power: how small a Q186873-style stall the default bounds catch, and how often
they raise a false alarm on a healthy server. A benchmark, not a test.

    sudo .venv/bin/python -m tests.benchmarks.detection_power --runs 20

For every setting it starts the target once and runs the scenario --runs times: the plain
embedded Samba (every fail is a false alarm), the fair relay replica:never (false alarms of
the extra hop), and the replica freezing for each --holds-ms or degrading by each
--degrades-ms (every fail is a detection). Phases and rates are the scenario's own (the
shipped defaults) unless --set overrides them. Prints one table row per setting; the same
runs are also re-judged by the excursion rule alone at each --margins-ms (column "exc@m",
pure re-judging of each run's probe table), and the canary's view of the machine is given
(host stalls per run, worst stall).
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
from harness.runner import run_scenario
from harness.scenario import resolve
from harness.targets.local import LocalSamba
from harness.targets.replica import ReplicaTarget



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
    p.add_argument("--degrade-hold-s", type=float, default=1.0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
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
    print(f"phases {scenario.phases}, rates {scenario.rates_hz}")
    exc_head = "".join(f" {'exc@' + format(m, 'g'):>7}" for m in margins)
    print(f"{'setting':<28} {'runs':>4} {'fail':>4} {'error':>5} {'rate':>6}  {'expect':<10} "
          f"{'median worst/limit':>18}{exc_head}  {'stalls/run':>10} {'worst ms':>8}  {'s/run':>5}")
    for label, stall_expected, make in settings(holds, degrades, args.degrade_hold_s):
        fails = errors = 0
        ratios = []
        exc_fails = dict.fromkeys(margins, 0)
        stalls, worst_stall_us = [], 0
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
                    alt = Bounds(Bound(p99_floor_ms=3.6e6, max_floor_ms=3.6e6, max_errors=10**9,
                                       excursion_margin_ms=m))
                    viol, _ = check_bounds(r["probes"], alt, scenario.probes)
                    exc_fails[m] += bool(viol)
        rate = fails / args.runs
        per_run = (time.monotonic() - started) / args.runs
        print(f"{label:<28} {args.runs:>4} {fails:>4} {errors:>5} {rate:>6.0%}  "
              f"{'detect' if stall_expected else 'no alarm':<10} "
              f"{statistics.median(ratios):>18.2f}"
              + "".join(f" {exc_fails[m]:>7}" for m in margins)
              + f"  {statistics.mean(stalls):>10.1f} {worst_stall_us / 1000:>8.1f}  {per_run:>5.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
