"""Interrupt chaos: interrupt ``nbt-harness run`` at random moments and check that it leaves
nothing on the machine. A benchmark, not a test (it takes minutes and sends real signals).

    sudo .venv/bin/python -m tests.benchmarks.interrupt_chaos --runs 30 [--seed N]

Each run starts ``nbt-harness run SCENARIO`` (short phases; target ``local``, about one run in
three ``replica``) in a session of its own, with a marker in its environment, and sends it
one of SIGINT, SIGTERM, SIGHUP or SIGKILL (to the process, or to its whole process group as a
terminal's Ctrl-C or hang-up would) at one of these moments: during target start (after its
temp dir appeared, before "ready" is printed), client set-up, the baseline, the drop itself
(its first 0.4 s), the rest of the fault phase, recovery, or teardown. Phase times come from
the scenario's own history (its ``run start`` event), so "during the drop" is exact to a
few ms. Every signal x moment pair is planned once (28 runs), further runs pick at random,
and the scenarios rotate so every drop mode is interrupted during its drop or fault.

After the signal it waits for the process to exit (a hang is counted, then the group is
killed), runs ``nbt-harness cleanup`` after SIGKILL, and checks the machine with
``tests.benchmarks.leftovers.scan`` (namespaces, processes, iptables rules, root qdiscs, temp
dirs, share files, containers of that run's pid). What it finds is listed and then removed
(only what carries that pid: other harness runs on the machine are left alone).
Prints one line per run, then "leftovers: N of R runs" and the hangs; exit 0 when both are 0.
The seed is printed: ``--seed`` replays the same plan.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.scratch import scratch_roots
from tests.benchmarks import leftovers as machine

SCENARIOS = ("rst", "blackhole", "stall", "netem", "partition", "kill")
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL")
MOMENTS = ("start", "setup", "baseline", "drop", "fault", "recovery", "teardown")
PHASES = {"phases.warmup_s": 0.5, "phases.baseline_s": 1.0, "phases.fault_s": 2.0,
          "phases.recovery_s": 1.0}
DROP_WINDOW_S = 0.4  # "drop": the first part of the fault phase, when the victim acts
MARK_VAR = "NBTH_CHAOS_MARK"
EXIT_TIMEOUT_S = 30.0  # an interrupted run that has not exited by then hangs
SETTLE_S = 1.0  # time given to exiting processes before what remains counts as left over
MOMENT_TIMEOUT_S = 60.0
DEFAULT_WINDOW_S = {"start": 0.4, "setup": 0.5, "teardown": 0.3}
# what an interrupted run should exit with (SIGKILL cannot be handled)
EXPECTED_RC = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129, "SIGKILL": -9}


@dataclass
class Plan:
    index: int
    signal: str
    moment: str
    scenario: str
    target: str
    delivery: str  # pid (kill PID) | group (killpg: Ctrl-C, terminal hang-up)
    offset: float  # 0..1: where in the moment's window the signal goes


@dataclass
class Outcome:
    plan: Plan
    actual: str = "?"
    at: str = ""
    rc: int | None = None
    exit_s: float | None = None
    hang: bool = False
    traceback: bool = False
    left: list[machine.Leftover] = field(default_factory=list)
    transient: list[machine.Leftover] = field(default_factory=list)  # gone by themselves
    not_cleaned: list[machine.Leftover] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def wrong_exit(self) -> bool:
        """Interrupted, yet it exited with something else than 128 + signal (e.g. 0: passed)."""
        return (self.actual != "after exit" and not self.hang
                and self.rc != EXPECTED_RC[self.plan.signal])


def make_plans(runs: int, seed: int, replica_share: float = 1 / 3,
               signals: tuple[str, ...] = SIGNALS, moments: tuple[str, ...] = MOMENTS,
               deliveries: tuple[str, ...] = ("pid", "group")) -> list[Plan]:
    """The run plan: every signal x moment once (shuffled), then random picks; scenarios
    rotate within each moment so each drop mode meets the drop and fault moments. Pure.
    The defaults are the benchmark; narrower choices aim at one moment (e.g. to check a fix)."""
    rng = random.Random(seed)
    combos = list(itertools.product(signals, moments))
    rng.shuffle(combos)
    combos = combos[:runs] + [(rng.choice(signals), rng.choice(moments))
                              for _ in range(runs - len(combos))]
    rotate = rng.randrange(len(SCENARIOS))
    by_moment = sorted(range(runs), key=lambda i: MOMENTS.index(combos[i][1]))
    scenario_of = {i: SCENARIOS[(k + rotate) % len(SCENARIOS)] for k, i in enumerate(by_moment)}
    plans = []
    for i, (sig, moment) in enumerate(combos):
        delivery = rng.choice(deliveries)
        target = "replica" if rng.random() < replica_share else "local"
        plans.append(Plan(0, sig, moment, scenario_of[i], target, delivery, rng.random()))
    rng.shuffle(plans)
    for i, p in enumerate(plans):
        p.index = i + 1
    return plans


def phase_spans() -> dict[str, tuple[float, float]]:
    t, spans = 0.0, {}
    for name in ("warmup", "baseline", "fault", "recovery"):
        d = PHASES[f"phases.{name}_s"]
        spans[name] = (t, t + d)
        t += d
    return spans


def classify(now: float, ready_at: float | None, t0: float | None, exited: bool,
             spans: dict[str, tuple[float, float]]) -> str:
    """Which moment a signal sent at ``now`` (monotonic) hit. Pure."""
    if exited:
        return "after exit"
    if ready_at is None:
        return "start"
    if t0 is None or now < t0:
        return "setup"
    t = now - t0
    fault0, fault1 = spans["fault"]
    if t < fault0:
        return "baseline"
    if t < fault0 + DROP_WINDOW_S:
        return "drop"
    if t < fault1:
        return "fault"
    if t < spans["recovery"][1]:
        return "recovery"
    return "teardown"


def window(plan: Plan, spans: dict, learned: dict[str, list[float]]) -> tuple[str, float, float]:
    """(anchor, from_s, to_s): the signal goes at anchor + from + offset x (to - from)."""
    fault0, fault1 = spans["fault"]
    total = spans["recovery"][1]
    if plan.moment in ("start", "setup", "teardown"):
        seen = learned.get(f"{plan.moment}:{plan.target}") or []
        w = statistics.median(seen) if seen else DEFAULT_WINDOW_S[plan.moment]
        if plan.moment == "start":
            return "tempdir", 0.0, 0.9 * w
        if plan.moment == "setup":
            return "ready", 0.0, 0.9 * w
        return "t0", total, total + 0.9 * w
    return "t0", *{"baseline": (0.0, fault0), "drop": (fault0, fault0 + DROP_WINDOW_S),
                   "fault": (fault0 + DROP_WINDOW_S, fault1),
                   "recovery": (fault1, total)}[plan.moment]


class Watch:
    """Follows one harness process: when its output said ready, when its scenario's t0 is."""

    def __init__(self, proc: subprocess.Popen, run_dir: Path, scenario: str) -> None:
        self.proc = proc
        self.started = time.monotonic()
        self.ready_at: float | None = None
        self.ready_s: float | None = None  # the harness's own "ready in X s" figure
        self.stderr: list[str] = []
        self.events = run_dir / scenario / "events-runner.jsonl"
        self.t0: float | None = None
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self) -> None:
        for line in self.proc.stdout:
            if self.ready_at is None and " ready in " in line:
                self.ready_at = time.monotonic()
                try:
                    self.ready_s = float(line.rsplit(" ready in ", 1)[1].strip().rstrip("s"))
                except ValueError:
                    pass

    def _err(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))

    def runner_events(self) -> list[Path]:
        """The runner's event file: in the run's own event dir (nbth-<pid>-events-* in a
        scratch root), where the harness writes it while the run lasts, or in the report dir."""
        return [
            *(f for root in scratch_roots()
              for f in root.glob(f"nbth-{self.proc.pid}-events-*/events-runner.jsonl")),
            self.events,
        ]

    def poll_t0(self) -> float | None:
        if self.t0 is None:
            for path in self.runner_events():
                try:
                    with open(path, encoding="utf-8") as f:
                        first = json.loads(f.readline())
                except (OSError, ValueError):
                    continue
                if first.get("type") == "run" and "t0_monotonic" in first:
                    self.t0 = float(first["t0_monotonic"])  # CLOCK_MONOTONIC, as ours
                elif first.get("type") == "run":  # written at t0 + t_s (t_s is about -0.3)
                    self.t0 = time.monotonic() - float(first["t_s"])
                if self.t0 is not None:
                    break
        return self.t0

    def tempdir_seen(self) -> bool:
        return any(machine.owned_name(p.name, self.proc.pid)
                   for root in scratch_roots() for p in root.iterdir())

    def wait_anchor(self, anchor: str) -> float | None:
        """Monotonic time of the anchor, or None if the process exited (or timed out) first."""
        deadline = time.monotonic() + MOMENT_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            if anchor == "tempdir" and self.ready_at is None and self.tempdir_seen():
                return time.monotonic()
            if anchor == "tempdir" and self.ready_at is not None:
                return self.ready_at  # start was too quick to catch; classify() says so
            if anchor == "ready" and self.ready_at is not None:
                return self.ready_at
            if anchor == "t0" and self.poll_t0() is not None:
                return self.t0
            time.sleep(0.005)
        return None


def harness_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness", *args]



def terminal_signals() -> None:
    """In the run's child: SIGINT and SIGHUP as a terminal's child has them. Started in the
    background (``&``, nohup) this script has them ignored, and the harness keeps an ignored
    signal ignored by design: the run would exit 0 on its SIGINT, a wrong exit code."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)

def run_one(plan: Plan, work: Path, learned: dict[str, list[float]], docker: bool) -> Outcome:
    out = Outcome(plan)
    run_dir = work / f"run{plan.index:02d}"
    marker = f"{MARK_VAR}={secrets.token_hex(8)}"
    sets = [a for k, v in PHASES.items() for a in ("--set", f"{k}={v}")]
    baseline = machine.take_baseline()
    env = dict(os.environ, **dict([marker.split("=", 1)]))
    proc = subprocess.Popen(
        harness_cmd("run", plan.scenario, "--target", plan.target, "--quiet",
                    "--report-dir", str(run_dir), *sets),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True, cwd=Path(__file__).resolve().parents[2],
        preexec_fn=terminal_signals)
    pid = proc.pid
    watch = Watch(proc, run_dir, plan.scenario)
    spans = phase_spans()
    try:
        anchor, lo, hi = window(plan, spans, learned)
        at = watch.wait_anchor(anchor)
        if at is not None:
            fire = at + lo + plan.offset * (hi - lo)
            while time.monotonic() < fire and proc.poll() is None:
                watch.poll_t0()
                time.sleep(min(0.005, max(0.0, fire - time.monotonic())))
        now = time.monotonic()
        watch.poll_t0()
        exited = proc.poll() is not None
        if exited and watch.t0 is not None:  # it finished first: teardown is shorter than that
            end = spans["recovery"][1]
            learned.setdefault(f"teardown:{plan.target}", []).append(
                max(0.05, now - watch.t0 - end))
        out.actual = classify(now, watch.ready_at, watch.t0, exited, spans)
        out.at = (f"t0{now - watch.t0:+.2f}s" if watch.t0 else f"+{now - watch.started:.2f}s")
        if not exited:
            sig = getattr(signal, plan.signal)
            try:
                (os.killpg if plan.delivery == "group" else os.kill)(pid, sig)
            except ProcessLookupError:
                out.actual = "after exit"
        sent = time.monotonic()
        try:
            out.rc = proc.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            out.hang = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out.rc = proc.wait(timeout=10)
        out.exit_s = time.monotonic() - sent
    finally:
        if proc.poll() is None:  # we failed or were interrupted: take the run down with us
            os.killpg(pid, signal.SIGKILL)
            proc.wait(timeout=10)
            machine.remove(machine.scan(pid, marker, docker=docker), pid, marker)
    time.sleep(0.1)  # the reader threads take the last lines
    out.traceback = any(line.startswith("Traceback") for line in watch.stderr)
    out.stderr_tail = watch.stderr[-8:]
    if watch.ready_s is not None:
        learned.setdefault(f"start:{plan.target}", []).append(watch.ready_s)
    if watch.ready_at and watch.t0:
        learned.setdefault(f"setup:{plan.target}", []).append(watch.t0 - watch.ready_at)
    if plan.signal == "SIGKILL" or out.hang:
        subprocess.run(harness_cmd("cleanup"), capture_output=True, text=True, timeout=120,
                       check=False)
    deadline = time.monotonic() + SETTLE_S
    first = left = machine.scan(pid, marker, baseline=baseline, docker=docker)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = machine.scan(pid, marker, baseline=baseline, docker=docker)
    out.left = left
    out.transient = [x for x in first if x.key not in {y.key for y in left}]
    if left:
        machine.remove(left, pid, marker)
        time.sleep(0.5)
        out.not_cleaned = machine.scan(pid, marker, baseline=baseline, docker=docker)
    shutil.rmtree(run_dir, ignore_errors=True)
    return out


def brief(items: list[machine.Leftover]) -> str:
    """One line for a list of leftovers: per kind a count and what they are."""
    parts = []
    for kind in sorted({x.kind for x in items}):
        of_kind = [x for x in items if x.kind == kind]
        if kind == "process":
            comms = Counter(x.what.split()[1] for x in of_kind)
            outside = sum("inside netns" not in x.what for x in of_kind)
            what = ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(comms.items()))
            what += f"; {outside} outside any namespace of the run" if outside else ""
        elif kind == "netns":
            what = ", ".join(x.key for x in of_kind)
        else:
            what = ", ".join(Path(x.key.split("\t")[-1]).name if kind != "qdisc" else x.key
                             for x in of_kind[:4]) + (", ..." if len(of_kind) > 4 else "")
        parts.append(f"{kind} x{len(of_kind)} ({what})")
    return "; ".join(parts)


def describe(o: Outcome, verbose: bool = False) -> str:
    p = o.plan
    head = (f"run {p.index:02d} {p.signal:<7} -> {p.delivery:<5} {p.scenario:<9} on {p.target:<7} "
            f"planned {p.moment:<8} hit {o.actual:<10} ({o.at})")
    rc = "hang" if o.hang else f"exit {o.rc} in {o.exit_s:.1f}s" if o.exit_s is not None else "?"
    tb = " TRACEBACK" if o.traceback else ""
    wrong = f" (WRONG EXIT: expected {EXPECTED_RC[p.signal]})" if o.wrong_exit else ""
    lines = [f"{head}: {rc}{wrong}{tb}; " + (f"LEFT {brief(o.left)}" if o.left else "clean")]
    if o.transient:
        lines.append(f"      ~ outlived the run, then gone within {SETTLE_S:g}s (ended by itself, "
                     f"or another run's stale-cleanup took it): {brief(o.transient)}")
    if o.traceback or o.wrong_exit:
        lines += [f"      | {line}" for line in o.stderr_tail]
    if verbose:
        lines += [f"      - {x}" for x in o.left + o.transient]
    if o.not_cleaned:
        lines.append(f"      ! not removed: {brief(o.not_cleaned)}")
    return "\n".join(lines)


def _choose(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    picked = tuple(x for x in text.split(",") if x) or allowed
    bad = [x for x in picked if x not in allowed]
    if bad:
        raise ValueError(f"{', '.join(bad)}: not one of {', '.join(allowed)}")
    return picked


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--seed", type=int, default=None, help="replay a plan (printed at start)")
    p.add_argument("--no-docker", action="store_true", help="do not ask docker for containers")
    p.add_argument("--verbose", action="store_true", help="list every leftover, one a line")
    p.add_argument("--signals", default="", help="aim: only these, e.g. SIGINT,SIGTERM")
    p.add_argument("--moments", default="", help=f"aim: only these of {','.join(MOMENTS)}")
    p.add_argument("--deliveries", default="", help="aim: pid or group only")
    p.add_argument("--only", default="", metavar="N,M",
                   help="run only these runs of the plan (with --seed: replay them)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("interrupt_chaos: needs root (namespaces, smbd, iptables)", file=sys.stderr)
        return 3
    if args.runs < 1:
        print("interrupt_chaos: --runs must be at least 1", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: the current run is taken down
        signal.signal(sig, _interrupted)
    seed = args.seed if args.seed is not None else secrets.randbelow(1 << 31)
    try:
        choice = {name: _choose(getattr(args, name), allowed) for name, allowed in
                  (("signals", SIGNALS), ("moments", MOMENTS), ("deliveries", ("pid", "group")))}
    except ValueError as exc:
        print(f"interrupt_chaos: {exc}", file=sys.stderr)
        return 2
    plans = make_plans(args.runs, seed, **choice)
    if args.only:
        try:
            keep = {int(x) for x in args.only.split(",") if x}
        except ValueError:
            print("interrupt_chaos: --only takes run numbers, e.g. 4,9", file=sys.stderr)
            return 2
        plans = [pl for pl in plans if pl.index in keep]
        if not plans:
            print(f"interrupt_chaos: --only names no run of 1..{args.runs}", file=sys.stderr)
            return 2
    which = f"{len(plans)} of the {args.runs} planned" if args.only else f"{args.runs}"
    print(f"interrupt chaos: {which} runs, seed {seed} (replay: --seed {seed}); phases "
          + " ".join(f"{k.split('.')[1]}={v:g}" for k, v in PHASES.items()), flush=True)
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-chaos-"))  # cleanup finds it if we die
    learned: dict[str, list[float]] = {}
    outcomes: list[Outcome] = []
    try:
        for plan in plans:
            o = run_one(plan, work, learned, docker=not args.no_docker)
            outcomes.append(o)
            print(describe(o, args.verbose), flush=True)
    except KeyboardInterrupt:
        print("interrupt_chaos: interrupted; the figures cover the runs done", file=sys.stderr)
        summary(outcomes, seed)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary(outcomes, seed)


def summary(outcomes: list[Outcome], seed: int) -> int:
    leaking = [o for o in outcomes if o.left]
    hangs = [o for o in outcomes if o.hang]
    missed = [o for o in outcomes if o.actual == "after exit"]
    outlived = [o for o in outcomes if o.transient]
    tracebacks = [o for o in outcomes if o.traceback]
    wrong = [o for o in outcomes if o.wrong_exit]
    n = len(outcomes)
    print(f"\nleftovers: {len(leaking)} of {n} runs")
    print(f"hangs: {len(hangs)} of {n} runs (no exit within {EXIT_TIMEOUT_S:.0f}s of the signal)")
    if outlived:
        print(f"outlived: in {len(outlived)} runs something of the run was still there after it "
              f"exited (and cleanup ran) but went away by itself within {SETTLE_S:g}s")
    if missed:
        print(f"missed: {len(missed)} runs exited before their signal (checked all the same)")
    if wrong:
        print(f"wrong exit codes after the signal: {len(wrong)} runs "
              f"({', '.join(f'{o.plan.index:02d}:{o.rc}' for o in wrong)})")
    if tracebacks:
        print(f"tracebacks on stderr: {len(tracebacks)} runs "
              f"({', '.join(f'{o.plan.index:02d}' for o in tracebacks)})")
    by_moment: dict[tuple[str, str], list[str]] = {}
    for o in leaking:
        key = (o.plan.signal + "->" + o.plan.delivery, o.actual)
        by_moment.setdefault(key, []).append(
            f"{o.plan.index:02d}:{'+'.join(sorted({x.kind for x in o.left}))}")
    for (sig, moment), runs in sorted(by_moment.items()):
        print(f"  leaks at {sig} during {moment}: {', '.join(runs)}")
    for o in hangs:
        print(f"  hang: run {o.plan.index:02d} {o.plan.signal}->{o.plan.delivery} during {o.actual}")
    if any(o.not_cleaned for o in outcomes):
        print("some leftovers could not be removed (see the '!' lines)")
    print(f"seed {seed}")
    return 0 if not leaking and not hangs else 1


if __name__ == "__main__":
    sys.exit(main())
