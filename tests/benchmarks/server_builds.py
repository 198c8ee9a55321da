"""Benchmark: the default suite against two real Samba builds, then their comparison.

    sudo .venv/bin/python -m tests.benchmarks.server_builds [--out DIR] [--base TARGET]
        [--new TARGET] [--set KEY=VALUE ...]

Runs ``nbt-harness run`` (every shipped scenario) against ``--base`` (default
``docker:bookworm``, Samba 4.17) into ``DIR/base`` and against ``--new`` (default
``docker:trixie``, Samba 4.22) into ``DIR/new``, then prints ``nbt-harness compare
DIR/base DIR/new``. Where the command has no ``compare`` it prints a plain table instead:
p50 and p99 (ms) per scenario x probe x phase from the two report.json files, and the ratio
of the p99s. Needs root, a docker engine and both base images (``.ci/docker-setup bookworm
trixie``). About 5 minutes with the shipped phases.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness.schedule import PHASES


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def plain_table(base: dict, new: dict) -> str:
    """p50/p99 (ms) of both reports per scenario x probe x phase, and new p99 / base p99.
    Pure: two report.json documents in, text out."""
    rows = [(f"{'scenario':<10} {'probe':<12} {'phase':<9} {'base p50':>9} {'base p99':>9} "
             f"{'new p50':>9} {'new p99':>9} {'p99 x':>6}")]
    new_by_name = {s["name"]: s for s in new.get("scenarios", [])}
    for sc in base.get("scenarios", []):
        other = new_by_name.get(sc["name"])
        if other is None:
            rows.append(f"{sc['name']:<10} (not in the new run)")
            continue
        if sc["verdict"] == "skip" or other["verdict"] == "skip":
            rows.append(f"{sc['name']:<10} skip: {sc.get('reason') or other.get('reason')}")
            continue
        for probe, phases in (sc.get("probes") or {}).items():
            for phase in PHASES:
                a = phases.get(phase)
                b = ((other.get("probes") or {}).get(probe) or {}).get(phase)
                if not a or not b:
                    continue
                ratio = (f"{b['p99_us'] / a['p99_us']:.2f}"
                         if a.get("p99_us") and b.get("p99_us") is not None else "-")
                rows.append(f"{sc['name']:<10} {probe:<12} {phase:<9} {_ms(a.get('p50_us')):>9} "
                            f"{_ms(a.get('p99_us')):>9} {_ms(b.get('p50_us')):>9} "
                            f"{_ms(b.get('p99_us')):>9} {ratio:>6}")
    verdicts = [f"{s['name']}: {s['verdict']}" for s in base.get("scenarios", [])]
    verdicts_new = [f"{s['name']}: {s['verdict']}" for s in new.get("scenarios", [])]
    rows.append(f"base {base.get('server') or base.get('target')}: {', '.join(verdicts)}")
    rows.append(f"new  {new.get('server') or new.get('target')}: {', '.join(verdicts_new)}")
    return "\n".join(rows)


def _harness(*args: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], text=True,
                          capture_output=True, timeout=timeout_s, check=False)


def has_compare() -> bool:
    return _harness("compare", "--help", timeout_s=30).returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("nbt-runs/server-builds"))
    p.add_argument("--base", default="docker:bookworm")
    p.add_argument("--new", default="docker:trixie")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    sets = [a for kv in args.set for a in ("--set", kv)]
    for label, target in (("base", args.base), ("new", args.new)):
        started = time.monotonic()
        done = _harness("run", "--quiet", "--target", target, "--report-dir", str(args.out / label),
                        *sets, timeout_s=1800)
        print(f"{label}: {target}: exit {done.returncode} in {time.monotonic() - started:.0f} s",
              flush=True)
        print(done.stdout.rstrip(), flush=True)
        if done.returncode not in (0, 1):
            print(done.stderr.rstrip(), file=sys.stderr)
            return done.returncode
    if has_compare():
        done = _harness("compare", str(args.out / "base"), str(args.out / "new"), timeout_s=300)
        print(done.stdout.rstrip())
        if done.stderr.strip():
            print(done.stderr.rstrip(), file=sys.stderr)
        return done.returncode
    print("(nbt-harness has no compare here: plain table from the two report.json files)")
    base = json.loads((args.out / "base" / "report.json").read_text())
    new = json.loads((args.out / "new" / "report.json").read_text())
    print(plain_table(base, new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
