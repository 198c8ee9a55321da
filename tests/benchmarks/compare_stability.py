"""compare's false alarms and detections, measured. A benchmark, not a test.

    sudo .venv/bin/python -m tests.benchmarks.compare_stability --repeats 10

Each repeat runs the scenarios twice against the same healthy target (two separate
``nbt-harness run`` processes, as a user would) and compares them: a regressed row there is
a false alarm. Then, --replica-repeats times, a healthy run is compared with a run against
``replica:any`` (the Q186873 freeze): there every drop scenario must regress on the probes
the replica stalls, and compare must exit 1. Prints one line per comparison and a summary.
Phases are short (PHASES: the test suite's phases when these figures were first taken; the
suite's own are shorter now, too short for the stall's freeze, 3 s after the drop). Each
pair is compared once per --deltas-ms value (compare's --min-delta-ms), so one set of runs
measures every threshold; --keep DIR keeps the runs of pairs that regressed at any threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = {"phases.warmup_s": 0.5, "phases.baseline_s": 2.0, "phases.fault_s": 3.0,
          "phases.recovery_s": 2.0}
CLI = [sys.executable, "-m", "harness"]


def run(target: str, scenarios: list[str], out: Path, extra: list[str]) -> int:
    sets = [a for k, v in PHASES.items() for a in ("--set", f"{k}={v}")]
    proc = subprocess.run([*CLI, "run", *scenarios, "--target", target, "--report-dir", str(out),
                           "--quiet", *sets, *extra], capture_output=True, text=True, timeout=900)
    if proc.returncode not in (0, 1):
        print(f"  run {target} -> exit {proc.returncode}: {proc.stderr.strip()[-300:]}", flush=True)
    return proc.returncode


def compare(base: Path, new: Path, extra: list[str]) -> tuple[int, list[str]]:
    proc = subprocess.run([*CLI, "compare", str(base), str(new), *extra], capture_output=True,
                          text=True, timeout=120)
    rows = [" ".join(line.split()[:3]) for line in proc.stdout.splitlines() if "REGRESSED" in line]
    return proc.returncode, rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--replica-repeats", type=int, default=2)
    p.add_argument("--scenarios", default="baseline,rst,stall")
    p.add_argument("--target", default="local")
    p.add_argument("--compare-arg", action="append", default=[], help="passed to compare")
    p.add_argument("--deltas-ms", default="10,25,50", help="compare --min-delta-ms values to try")
    p.add_argument("--keep", type=Path, default=None, help="keep the runs of regressed pairs here")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    deltas = [float(x) for x in args.deltas_ms.split(",") if x]
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-bench-"))  # cleanup finds it if we die
    figures: dict = {"healthy": [], "replica": [], "scenarios": scenarios, "deltas_ms": deltas}

    def pair(kind: str, i: int, a: Path, b: Path) -> None:
        result = {}
        for d in deltas:
            code, rows = compare(a, b, [*args.compare_arg, "--min-delta-ms", str(d)])
            result[d] = {"exit": code, "regressed": rows}
            print(f"{kind} {i + 1} min-delta {d:g} ms: exit {code}, {len(rows)} regressed {rows}",
                  flush=True)
        figures[kind].append(result)
        if args.keep and any(r["exit"] == 1 for r in result.values()):
            for run_dir in (a, b):
                shutil.copytree(run_dir, args.keep / f"{kind}{i}-{run_dir.name}", dirs_exist_ok=True)
    started = time.monotonic()
    try:
        for i in range(args.repeats):
            a, b = work / f"h{i}a", work / f"h{i}b"
            run(args.target, scenarios, a, [])
            run(args.target, scenarios, b, [])
            pair("healthy", i, a, b)
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
        for i in range(args.replica_repeats):
            a, b = work / f"r{i}a", work / f"r{i}b"
            run(args.target, scenarios, a, [])
            run("replica:any", scenarios, b, [])
            pair("replica", i, a, b)
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for d in deltas:
        clean = sum(1 for h in figures["healthy"] if h[d]["exit"] == 0)
        caught = sum(1 for r in figures["replica"] if r[d]["exit"] == 1)
        print(f"summary min-delta {d:g} ms: healthy pairs with no regression {clean} of "
              f"{len(figures['healthy'])}; replica pairs exiting 1 {caught} of {len(figures['replica'])}")
    print(f"{time.monotonic() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
