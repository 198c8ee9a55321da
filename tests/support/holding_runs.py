"""Holdings scenarios on one target, several runs at once: for the docker and URL target tests.

Each run is one ``nbt-harness run`` (or one ``pytest scenarios/...`` with the plugin) in a
process of its own, with clients of its own (and, on the docker target, a container of its
own); they all start together and the caller gets every report entry keyed by (run key,
scenario name). Short phases as in test_holding_controls: the server's loss detection of a
blackholed holder takes 3.1-3.5 s (6.8 s with one more backed-off retransmission), so the
blackhole's fault phase (9 s) covers the scenarios' max_wait_s (8 s); a RST releases at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.probes import PROBES
from tests.conftest import CHILD_PYTEST

REPO = Path(__file__).resolve().parents[2]
# Only the contended open is judged (time-to-access and its statuses): these runs go five or
# more at once on a 2-core machine, where the latency bounds of the other probes would judge
# the machine's load (seen: nbstat and smb_echo p99 of 200-460 ms with six docker runs at
# once). Those probes have their own tests on each target (the default suite on docker and
# on a URL target).
SHORT = {"phases.warmup_s": 0.3, "phases.baseline_s": 1.0, "phases.fault_s": 9.0,
         "phases.recovery_s": 0.2, "evidence_timeout_s": 9.0,
         **{f"probes.{name}": 0 for name, kind in PROBES.items() if kind.default_rate_hz > 0}}
SHORT_BY_DROP = {
    "blackhole": SHORT,
    "rst": {**SHORT, "phases.fault_s": 2.0},  # a RST releases everything at once
    # a hung holder is killed at the fault phase's end (4 s), then access at once
    "pause": {**SHORT, "phases.fault_s": 4.0, "phases.recovery_s": 2.0},
    # the contended open granted 0.5 s after the RST, the reclaim at the fault phase's end
    "reclaim": {**SHORT, "phases.fault_s": 2.0, "phases.recovery_s": 1.0,
                "evidence_timeout_s": 6.0},
}
RUN_TIMEOUT_S = 150.0


@dataclass(frozen=True)
class Run:
    key: str  # what the caller calls this run's target (e.g. "docker", "tcp_retries2=15")
    target: str
    drop: str  # every scenario of one run has this drop (its phases: SHORT_BY_DROP)
    holdings: tuple[str, ...]
    extra: tuple[str, ...] = ()  # more `nbt-harness run` arguments
    pytest: bool = False  # through the pytest plugin: pytest scenarios/holdings/... --nbt-target
    sets: dict = field(default_factory=dict)  # more overrides
    plain: bool = False  # the shipped scenario named ``drop`` (not a holding), with ``sets`` only
    netns: str | None = None  # the network namespace the run's process starts in

    def argv(self, report_dir: Path) -> list[str]:
        base = {} if self.plain else SHORT_BY_DROP[self.drop]
        sets = [f"{k}={v}" for k, v in {**base, **self.sets}.items()]
        names = [self.drop] if self.plain else [f"holdings/{h}-{self.drop}" for h in self.holdings]
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        if self.pytest:
            files = [f"scenarios/{n}.toml" for n in names]
            return [*prefix, sys.executable, "-m", "pytest", *CHILD_PYTEST, "-q", *files, "--nbt-target",
                    self.target, "--nbt-report-dir", str(report_dir),
                    *[a for kv in sets for a in ("--nbt-set", kv)]]
        return [*prefix, sys.executable, "-m", "harness", "run", *names, "--target", self.target,
                "--quiet", "--report-dir", str(report_dir), *self.extra,
                *[a for kv in sets for a in ("--set", kv)]]


def run_all(runs: list[Run], work: Path, env: dict | None = None) -> dict:
    """Start every run at once; {(run key, scenario name): report entry, with "server": the
    build its report names}, and under ("exit", run key + index) each run's exit status, wall
    time (s) and the tail of its output."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "NBT_HARNESS_TARGET"}
    procs = []
    started = time.monotonic()
    try:
        for i, run in enumerate(runs):
            with open(work / f"{i}.out", "w") as output:  # a file: a pipe could fill up
                procs.append((i, run, subprocess.Popen(
                    run.argv(work / str(i)), cwd=REPO, env=env, stdout=output,
                    stderr=subprocess.STDOUT)))
        out: dict = {}
        ended = {}
        deadline = started + RUN_TIMEOUT_S
        while len(ended) < len(procs) and time.monotonic() < deadline:
            for i, _, proc in procs:
                if i not in ended and proc.poll() is not None:
                    ended[i] = round(time.monotonic() - started, 1)
            time.sleep(0.1)
        for i, run, proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            text = (work / f"{i}.out").read_text(errors="replace")
            out[("exit", f"{run.key}#{i}")] = (proc.returncode, ended.get(i), text[-3000:])
            report_dir = work / str(i)
            report = (json.loads((report_dir / "report.json").read_text())
                      if not run.pytest and (report_dir / "report.json").exists() else {})
            entries = ([json.loads(p.read_text()) for p in sorted(report_dir.rglob("entry.json"))]
                       if run.pytest else report.get("scenarios", []))
            for entry in entries:  # with the report's server build, where the target knows it
                out[(run.key, entry["name"])] = {"server": report.get("server"), **entry}
        return out
    finally:
        for _, _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
