"""Where a scenario's time goes outside its phases. A benchmark, not a test.

    sudo .venv/bin/python -m tests.benchmarks.scenario_overhead [SCENARIO ...] [--set K=V ...] [--goal-s S]

Runs ``nbt-harness run`` in this process (default: every shipped scenario, the embedded
target) with timers wrapped around the runner's steps, and prints per scenario:

  clients   run_scenario entered -> the last client ready (forks, sessions, priority)
  margin    the last client ready -> the clients' shared t0 (the start margin, the start event)
  phases    t0 -> end of the phases (what the statistics need: the baseline of the ratios)
  drain     end of the phases -> the runner's wait for evidence and clients returned
  teardown  clients killed and joined
  sweep     the scratch sweep (a fresh session removing this run's files)
  merge     server events, history merge and verdict
  report    run_scenario returned -> the next scenario started (report.json, table)

plus the target's start and stop, and the ratios overhead / phases and total / phases
(both measured in this run, so machine load affects numerator and denominator alike).
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness.run.runner as runner
from harness.run import aftercare, rundirs, spawn
from harness.targets.local import LocalSamba

STEPS = ("clients", "margin", "phases", "drain", "teardown", "sweep", "merge", "report")


class Clock:
    """Timestamps of the runner's steps, one dict per scenario."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.target: dict = {}

    def mark(self, key: str) -> None:
        self.runs[-1][key] = time.monotonic()


def instrument(clock: Clock) -> None:
    def around(owner, name, before=None, after=None):
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def wrapped(*args, **kw):
            if before:
                before()
            try:
                return fn(*args, **kw)
            finally:
                if after:
                    after()
        setattr(owner, name, wrapped)

    def entered():
        clock.runs.append({"entered": time.monotonic()})

    around(runner, "run_scenario", entered, lambda: clock.mark("returned"))
    around(spawn, "join", None, lambda: clock.mark("run_returned"))
    around(spawn, "wait", None, lambda: clock.mark("ready"))  # the set-up's last wait: all ready
    around(aftercare, "sweep_scratch", lambda: clock.mark("sweep_start"), lambda: clock.mark("sweep_end"))
    around(rundirs, "merge", lambda: clock.mark("merge_start"))
    around(runner, "verdict", None, lambda: clock.mark("verdict_end"))
    for name in ("start", "stop"):
        def before(name=name):
            clock.target.setdefault(name, [time.monotonic(), None])
        def after(name=name):
            clock.target[name][1] = time.monotonic()
        around(LocalSamba, name, before, after)


def breakdown(run: dict, next_start: float | None) -> dict | None:
    """Seconds per step of one scenario run, from its marks and its history's t0."""
    if "run_returned" not in run:  # skipped before any client started
        return None
    history = Path(run["history"]) if run.get("history") else None
    start = next((e for e in _events(history) if e.get("type") == "run" and e.get("event") == "start"), None)
    if start is None:
        return None
    t0 = start["t0_monotonic"]
    phases_s = sum(p[2] - p[1] for p in start["phases"]) if start.get("phases") else 0.0
    end = t0 + phases_s
    sweep_start = run.get("sweep_start", run["run_returned"])
    sweep_end = run.get("sweep_end", sweep_start)
    return {
        "clients": run.get("ready", t0) - run["entered"],
        "margin": t0 - run.get("ready", t0),
        "phases": phases_s,
        "drain": run["run_returned"] - end,
        "teardown": sweep_start - run["run_returned"],
        "sweep": sweep_end - sweep_start,
        "merge": run["returned"] - sweep_end,
        "report": (next_start or run["returned"]) - run["returned"],
    }


def _events(path: Path | None):
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--target", default="local")
    ap.add_argument("--goal-s", type=float, default=None,
                    help="print the wall time as a ratio of this goal (issue 11: the nine "
                         "scenarios before pause in 60 s)")
    args = ap.parse_args(argv)
    clock = Clock()
    instrument(clock)
    from harness import cli
    from harness.report.table import scenario_entry  # noqa: F401  (imported before timing)

    report_dir = Path(tempfile.mkdtemp(prefix="nbth-bench-overhead-"))
    original = runner.run_scenario

    def keep_history(*a, **kw):
        result = original(*a, **kw)
        clock.runs[-1]["history"] = result.get("history")
        clock.runs[-1]["name"] = result.get("name")
        clock.runs[-1]["verdict"] = result.get("verdict")
        return result
    runner.run_scenario = keep_history
    started = time.monotonic()
    try:
        cli_argv = ["run", *args.scenarios, "--target", args.target, "--report-dir", str(report_dir),
                    "--quiet"]
        for pair in args.set:
            cli_argv += ["--set", pair]
        code = cli.main(cli_argv)
        wall_s = time.monotonic() - started
        rows = []
        for i, run in enumerate(clock.runs):
            nxt = clock.runs[i + 1]["entered"] if i + 1 < len(clock.runs) else clock.target.get("stop", [None])[0]
            b = breakdown(run, nxt)
            if b:
                rows.append((run.get("name", "?"), run.get("verdict", "?"), b))
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)
    start_s = _span(clock.target.get("start"))
    stop_s = _span(clock.target.get("stop"))
    print(f"exit {code}; wall {wall_s:.1f} s; target start {start_s:.2f} s, stop {stop_s:.2f} s")
    print(f"{'scenario':<10} {'verdict':<7} " + " ".join(f"{s:>8}" for s in STEPS)
          + f" {'overhead':>8} {'ovh/ph':>6}")
    totals = dict.fromkeys(STEPS, 0.0)
    for name, verdict_, b in rows:
        overhead = sum(v for k, v in b.items() if k != "phases")
        for k in STEPS:
            totals[k] += b[k]
        print(f"{name:<10} {verdict_:<7} " + " ".join(f"{b[s]:8.2f}" for s in STEPS)
              + f" {overhead:8.2f} {overhead / b['phases'] if b['phases'] else 0:6.2f}")
    overhead = sum(v for k, v in totals.items() if k != "phases") + start_s + stop_s
    print(f"{'total':<18} " + " ".join(f"{totals[s]:8.2f}" for s in STEPS)
          + f" {overhead:8.2f} {overhead / totals['phases'] if totals['phases'] else 0:6.2f}")
    print(f"phases (baseline) {totals['phases']:.1f} s; overhead incl. target start/stop "
          f"{overhead:.1f} s = {overhead / max(totals['phases'], 1e-9):.2f}x the phases; "
          f"wall / phases {wall_s / max(totals['phases'], 1e-9):.2f}x")
    if args.goal_s:
        print(f"{len(rows)} scenarios: wall {wall_s:.1f} s = {wall_s / args.goal_s:.2f}x the goal "
              f"of {args.goal_s:g} s; their phases alone {totals['phases']:.1f} s")
    return 0 if code in (0, 1) else code


def _span(pair) -> float:
    return 0.0 if not pair or pair[1] is None else pair[1] - pair[0]


if __name__ == "__main__":
    sys.exit(main())
