"""Scale: hundreds of active and a thousand idle sessions on one machine. A benchmark.

    sudo .venv/bin/python -m tests.benchmarks.scale [--active 32,128,256] [--idle 0,1000]

On the embedded Samba, for each count of active sessions (1 Hz echo each, 64 sessions per
pool process) and idle sessions (logged on, share connected, one file held open), runs
``rst`` and ``blackhole`` and prints: the echo schedule lag (sent - intended) p50/p99, PSS per
session of the pool processes, the canary's machine stalls, each verdict and the duration;
then the largest setting against ``replica:any`` (it must fail).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness.history import read_events
from harness.results import ScenarioResult
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.stats import percentile
from harness.targets.local import LocalSamba
from harness.targets.replica import ReplicaTarget

PER_PROCESS = 64


def overrides(active: int, idle: int) -> dict:
    return {"healthy_clients": str(active), "sessions_per_process": str(PER_PROCESS),
            "idle_sessions": str(idle), "probes.smb_echo": "1", "probes.smb_rw": "0",
            "phases.warmup_s": "1", "phases.baseline_s": "4", "phases.fault_s": "6",
            "phases.recovery_s": "3"}


def measure(result: ScenarioResult) -> dict:
    events = list(read_events(Path(result.history)))
    intended = {(e["process"], e["seq"]): e["intended_s"] for e in events
                if e.get("type") == "invoke" and e.get("probe") == "smb_echo"}
    lags_us = [(e["sent_s"] - intended[(e["process"], e["seq"])]) * 1e6 for e in events
               if e.get("type") == "ok" and e.get("probe") == "smb_echo"
               and e.get("sent_s") is not None and (e["process"], e["seq"]) in intended]
    pools = [e for e in events if e.get("type") == "pool" and e.get("pss_kb")]
    sessions = sum(e["sessions"] for e in pools)
    pss_kb = sum(e["pss_kb"] for e in pools)
    return {"verdict": result.verdict, "lag_p50_us": percentile(lags_us, 50),
            "lag_p99_us": percentile(lags_us, 99),
            "pss_mb_per_session": pss_kb / 1024 / sessions if sessions else None,
            "stalls": result.host_stalls.to_json() if result.host_stalls else {},
            "reason": result.reason}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--active", default="32,128,256")
    p.add_argument("--idle", default="0,1000")
    p.add_argument("--scenarios", default="rst,blackhole")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("scale: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-scale-"))
    rows = []
    try:
        with LocalSamba() as target:
            for active in (int(a) for a in args.active.split(",")):
                for idle in (int(i) for i in args.idle.split(",")):
                    for name in args.scenarios.split(","):
                        sc = resolve([name])[0].with_overrides(overrides(active, idle))
                        t = time.monotonic()
                        result = run_scenario(sc, target, work / f"{name}-{active}-{idle}")
                        rows.append((active, idle, name, "local", time.monotonic() - t, measure(result)))
                        print(_row(rows[-1]), flush=True)
        active, idle = max(int(a) for a in args.active.split(",")), max(int(i) for i in args.idle.split(","))
        with ReplicaTarget("any") as replica:
            sc = resolve(["rst"])[0].with_overrides(overrides(active, idle))
            t = time.monotonic()
            result = run_scenario(sc, replica, work / "replica")
            rows.append((active, idle, "rst", "replica:any", time.monotonic() - t, measure(result)))
            print(_row(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _row(row) -> str:
    active, idle, name, target, duration_s, m = row
    lag = f"{m['lag_p50_us'] or 0:>7.0f} {m['lag_p99_us'] or 0:>8.0f}"
    pss = f"{m['pss_mb_per_session']:.2f}" if m["pss_mb_per_session"] else "-"
    return (f"active {active:>4} idle {idle:>5} {name:<10} {target:<12} lag p50/p99 us {lag}  "
            f"PSS MB/session {pss:>5}  stalls {m['stalls'].get('count', 0)} "
            f"(worst {m['stalls'].get('worst_us', 0) / 1000:.0f} ms)  {m['verdict']:<5} "
            f"{duration_s:5.1f}s  {m['reason'][:60]}")


if __name__ == "__main__":
    sys.exit(main())
