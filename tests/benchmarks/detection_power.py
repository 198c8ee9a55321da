"""Detection power: how small a Q186873-style stall the default bounds catch, and how often
they raise a false alarm on a healthy server. A benchmark, not a test.

    sudo .venv/bin/python -m tests.benchmarks.detection_power --runs 20

For every setting it starts the target once and runs the scenario --runs times: the plain
embedded Samba (every fail is a false alarm), the fair relay replica:never (false alarms of
the extra hop), and the replica freezing for each --holds-ms or degrading by each
--degrades-ms (every fail is a detection). Prints one table row per setting.
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

from harness.runner import run_scenario
from harness.scenario import resolve
from harness.targets.local import LocalSamba
from harness.targets.replica import ReplicaTarget

PHASES = {"phases.warmup_s": 0.5, "phases.baseline_s": 2.0, "phases.fault_s": 2.0,
          "phases.recovery_s": 1.5}


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
    p.add_argument("--holds-ms", default="50,100,200,500,1000")
    p.add_argument("--degrades-ms", default="20,50")
    p.add_argument("--degrade-hold-s", type=float, default=1.0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    overrides = dict(PHASES)
    overrides.update(dict(kv.split("=", 1) for kv in args.set))
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
    print(f"{'setting':<28} {'runs':>4} {'fail':>4} {'error':>5} {'rate':>6}  {'expect':<10} "
          f"{'median worst/limit':>18}  {'s/run':>5}")
    for label, stall_expected, make in settings(holds, degrades, args.degrade_hold_s):
        fails = errors = 0
        ratios = []
        started = time.monotonic()
        with make() as target:
            for i in range(args.runs):
                r = run_scenario(scenario, target, work / label.replace(" ", "_") / str(i))
                fails += r.verdict == "fail"
                errors += r.verdict == "error"
                worst = max((v.observed_us / v.limit_us for v in r.violations if v.limit_us),
                            default=0.0)
                ratios.append(worst)
        rate = fails / args.runs
        per_run = (time.monotonic() - started) / args.runs
        print(f"{label:<28} {args.runs:>4} {fails:>4} {errors:>5} {rate:>6.0%}  "
              f"{'detect' if stall_expected else 'no alarm':<10} "
              f"{statistics.median(ratios):>18.2f}  {per_run:>5.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
