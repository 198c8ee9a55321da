"""Time-to-access per holding x drop: how long after the victim's drop a healthy client gets
the file the victim held, on the embedded Samba (the table in docs/pages/holdings.md).

    python -m tests.benchmarks.time_to_access [--drops rst,blackhole] [--holdings ...]
        [--config default|tcp-retries-default] [--repeat N]

Each row runs the shipped ``holdings/<holding>-<drop>`` scenario (short warm-up and
baseline) and prints the time from the drop's start to the first successful contended open,
the server's loss detection (drop start -> the server's socket gone), the status sequence the
healthy client saw, and the verdict. Needs root (namespaces, smbd).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness.clients.holdings import HOLDINGS
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.targets import LOCAL_CONFIGS
from harness.targets.local import LocalSamba

SHORT = {"phases.warmup_s": 0.3, "phases.baseline_s": 1.0, "phases.recovery_s": 0.2,
         "probes.nbt_session": 0, "probes.smb_rw": 0}


def row(holds: str, drop: str, result: dict) -> str:
    access = result.get("access") or {}
    d = result.get("drop") or {}
    tta = access.get("time_to_access_s")
    loss = (d.get("evidence_at_s") - d["at_s"]) if d.get("evidence_at_s") and d.get("at_s") else None
    seq = ", ".join(f"{s['status']} x{s['count']}" for s in access.get("statuses", [])[:4])
    return (f"| {holds} | {drop} | {'never' if tta is None else f'{tta:.2f}'} | "
            f"{'-' if loss is None else f'{loss:.2f}'} | {seq} | {result['verdict']} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drops", default="rst,blackhole")
    p.add_argument("--holdings", default=",".join(HOLDINGS))
    p.add_argument("--config", default="default", choices=sorted(LOCAL_CONFIGS))
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("time_to_access: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-tta-"))
    try:
        with LocalSamba(**LOCAL_CONFIGS[args.config]) as target:
            print(f"server: {target.server_version()}, config {args.config}")
            print("| holding | drop | time to access s | server loss detection s | statuses | verdict |")
            print("| --- | --- | --- | --- | --- | --- |")
            for holds in args.holdings.split(","):
                for drop in args.drops.split(","):
                    sc = resolve([f"holdings/{holds}-{drop}"])[0].with_overrides(SHORT)
                    for i in range(args.repeat):
                        result = run_scenario(sc, target, work / f"{holds}-{drop}-{i}")
                        print(row(holds, drop, result), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
