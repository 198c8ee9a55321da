"""The crowd: how many Locust users one worker core carries, and what the crowd costs the
probes. A benchmark.

    sudo .venv/bin/python -m tests.benchmarks.crowd [--users 50,100,200] [--lag-users 200]

On the embedded Samba, in one invocation:
1. for each count of users, one local worker at 1 operation per second per user (echo),
   the ``baseline`` scenario: the crowd's baseline p50/p99 (latency from when each operation
   was due), the worker's CPU (from /proc while it runs) and so users per worker core;
2. the probes' schedule lag (sent - intended, every healthy probe) in ``rst`` without a crowd
   and with ``--lag-users`` users on two workers (at the scenario default pace), and the ratio
   of the two p99s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from glob import glob
from pathlib import Path

from harness.history import read_events
from harness.results import ScenarioResult
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.stats import percentile
from harness.targets.local import LocalSamba

PHASES = {"phases.warmup_s": "1", "phases.baseline_s": "6", "phases.fault_s": "3",
          "phases.recovery_s": "2"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def schedule_lag_us(events: list[dict]) -> list[float]:
    """sent - intended (µs) of every healthy probe operation that was sent."""
    def key(e):  # a shared prober numbers each of its probes' operations apart
        return e["process"], e.get("probe"), e["seq"]

    intended = {key(e): e["intended_s"] for e in events
                if e.get("type") == "invoke" and e.get("role") == "healthy"}
    return [(e["sent_s"] - intended[key(e)]) * 1e6 for e in events
            if e.get("type") in ("ok", "fail") and e.get("sent_s") is not None
            and key(e) in intended]


def users_per_core(users: int, cpu_s: float, wall_s: float) -> float | None:
    """Users one fully busy core would carry at this pace (None: no CPU measured)."""
    return users * wall_s / cpu_s if cpu_s > 0 and wall_s > 0 else None


class WorkerCpu:
    """CPU seconds (user + system) of this process's crowd workers, sampled from /proc while
    they run (the last sample of each is kept: they are killed at the end of the run)."""

    def __init__(self) -> None:
        self.cpu_s: dict[int, float] = {}
        self.first: float | None = None
        self.last: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for path in glob("/proc/[0-9]*/cmdline"):
                try:
                    if b"harness.crowd.worker" not in Path(path).read_bytes():
                        continue
                    fields = Path(path).with_name("stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) != os.getpid():
                    continue
                now = time.monotonic()
                self.first = self.first or now
                self.last = now
                self.cpu_s[int(Path(path).parent.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
            time.sleep(0.25)

    def stop(self) -> tuple[float, float]:
        """(CPU seconds of every worker, seconds they were seen running)."""
        self._stop.set()
        self._thread.join(2)
        wall = (self.last - self.first) if self.first and self.last else 0.0
        return sum(self.cpu_s.values()), wall


def crowd_row(result: ScenarioResult, phase: str) -> dict:
    return (result.extra.get("crowd") or {}).get("rows", {}).get(phase) or {}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", default="50,100,200",
                   help="users on one worker, 1 op/s each ('' skips this part)")
    p.add_argument("--lag-users", type=int, default=200, help="users of the lag comparison")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("crowd: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-crowd-"))
    try:
        with LocalSamba() as target:
            print("users/worker  ops/s  crowd p50 ms  p99 ms  worker CPU s / s  users per core")
            for users in (int(u) for u in args.users.split(",") if u):
                sc = resolve(["baseline"])[0].with_overrides({
                    **PHASES, "crowd.users": str(users), "crowd.workers": "1",
                    "crowd.op_interval_s": "1", "crowd.spawn_rate": "200",
                    "crowd.mix": '{"echo": 1}', "crowd.join_timeout_s": "120"})
                cpu = WorkerCpu()
                result = run_scenario(sc, target, work / f"users-{users}")
                cpu_s, wall_s = cpu.stop()
                row = crowd_row(result, "baseline")
                per_core = users_per_core(users, cpu_s, wall_s)
                print(f"{users:>12} {row.get('count', 0) / 6:>6.0f} "
                      f"{(row.get('p50_us') or 0) / 1000:>13.1f} {(row.get('p99_us') or 0) / 1000:>7.1f} "
                      f"{cpu_s:>8.1f} / {wall_s:<6.1f} {per_core or 0:>14.0f}   {result.verdict}",
                      flush=True)
            lags = {}
            for label, extra in (("without", {}),
                                 ("with", {"crowd.users": str(args.lag_users),
                                           "crowd.workers": "2", "crowd.spawn_rate": "200",
                                           "crowd.join_timeout_s": "120"})):
                sc = resolve(["rst"])[0].with_overrides({**PHASES, **extra})
                result = run_scenario(sc, target, work / f"lag-{label}")
                lag = schedule_lag_us(list(read_events(Path(result.history))))
                lags[label] = (percentile(lag, 50), percentile(lag, 99), result.verdict)
                print(f"rst {label} a crowd of {args.lag_users}: probes' schedule lag p50 "
                      f"{lags[label][0] / 1000:.2f} ms p99 {lags[label][1] / 1000:.2f} ms "
                      f"({len(lag)} ops)  {result.verdict}  {result.reason[:80]}", flush=True)
            ratio = lags["with"][1] / lags["without"][1] if lags["without"][1] else float("nan")
            print(f"probes' schedule lag p99 with / without the crowd: {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
