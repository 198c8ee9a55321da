"""The embedded Samba's directory on disk against in memory, while something else on the
machine writes and syncs: how long the probes that touch the server's files take.

    python -m tests.benchmarks.scratch_under_io [--pairs N] [--target replica:timeout]
        [--no-load]

Runs the ``baseline`` scenario (short phases) ``--pairs`` times in each of two modes,
alternating: ``disk`` ($TMPDIR=/tmp: the Samba directory on the root file system, as before
harness.scratch) and ``memory`` (the default: /dev/shm). Meanwhile a writer process fills a
file on the disk and fsyncs it, over and over (``--no-load``: no writer). Prints, per mode,
each run's largest service time of smb_logon, smb_meta and smb_echo (the control: it touches
no file), the runs that would fail the default bounds (smb_logon over 300 ms, smb_meta over
200 ms) and the ratio disk / memory of the median largest time. Needs root.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SHORT = {"phases.warmup_s": 0.5, "phases.baseline_s": 1.0, "phases.fault_s": 1.5,
         "phases.recovery_s": 1.0}
PROBES = ("smb_logon", "smb_meta", "smb_echo")
LIMIT_MS = {"smb_logon": 300.0, "smb_meta": 200.0, "smb_echo": 100.0}  # default p99 floors
WRITE_MIB = 1024


def writer(path: str) -> None:
    """Write WRITE_MIB MiB and fsync, remove, again: the journal commits that stall others."""
    block = b"\0" * (1 << 20)
    while True:
        with open(path, "wb") as f:
            for _ in range(WRITE_MIB):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        os.unlink(path)


def largest_service_ms(history: Path) -> dict[str, float]:
    out = dict.fromkeys(PROBES, 0.0)
    for line in history.read_text().splitlines():
        e = json.loads(line)
        if e.get("type") == "ok" and e.get("role") == "healthy" and e["probe"] in out:
            out[e["probe"]] = max(out[e["probe"]], (e.get("service_us") or 0) / 1000)
    return out


def one_run(mode: str, target: str, work: Path, n: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("TMPDIR", None)
    if mode == "disk":
        env["TMPDIR"] = "/tmp"
    report = work / f"{mode}-{n}"
    sets = [a for k, v in SHORT.items() for a in ("--set", f"{k}={v}")]
    subprocess.run(
        [sys.executable, "-m", "harness", "run", "baseline", "--quiet", "--target", target,
         "--report-dir", str(report), *sets],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
    return largest_service_ms(report / "baseline" / "history.jsonl")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--target", default="replica:timeout")
    p.add_argument("--no-load", action="store_true")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("scratch_under_io: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-scratch-", dir="/tmp"))
    load = None
    if not args.no_load:
        load = multiprocessing.get_context("fork").Process(
            target=writer, args=(str(work / "load.bin"),), daemon=True)
        load.start()
    rows: dict[str, list[dict[str, float]]] = {"disk": [], "memory": []}
    try:
        for n in range(args.pairs):
            for mode in rows:
                rows[mode].append(one_run(mode, args.target, work, n))
    finally:
        if load is not None:
            load.kill()
            load.join(5)
        shutil.rmtree(work, ignore_errors=True)
    print(f"target {args.target}, {args.pairs} pairs, "
          f"{'no load' if args.no_load else f'a writer of {WRITE_MIB} MiB + fsync in a loop'}")
    medians: dict[str, dict[str, float]] = {}
    for mode, runs in rows.items():
        failing = sum(any(r[pr] > LIMIT_MS[pr] for pr in PROBES) for r in runs)
        print(f"{mode}: runs over a default bound: {failing}/{len(runs)}")
        medians[mode] = {}
        for pr in PROBES:
            values = [r[pr] for r in runs]
            medians[mode][pr] = statistics.median(values)
            print(f"  {pr:10} largest per run ms: {' '.join(f'{v:.0f}' for v in values)}"
                  f"  (median {medians[mode][pr]:.0f})")
    for pr in PROBES:
        ratio = medians["disk"][pr] / medians["memory"][pr] if medians["memory"][pr] else 0.0
        print(f"ratio disk / memory of the median largest {pr}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
