"""Server wait: where a slow operation's time goes, from the kernel's scheduler trace. A
benchmark, not a test (it needs perf and root, and takes a minute or more).

    sudo .venv/bin/python -m tests.benchmarks.server_wait --runs 10 --load 2
    sudo .venv/bin/python -m tests.benchmarks.server_wait --runs 10 --load 2 --server-rt

Runs the scenario --runs times against the embedded Samba (at normal priority, or at SCHED_RR
with --server-rt) while ``perf record`` traces sched_switch and sched_waking on every CPU
with CLOCK_MONOTONIC time stamps (the history's clock: its start event has t0_monotonic and
every client's pid). Then, for every healthy operation slower than --slow-ms, splits its
[sent, completed] window into what its prober and the server task that answered it (the last
task to wake the prober in the window: the session's smbd, nmbd; for nbt_session a new smbd
child) did: ran, waited on the runqueue (runnable), slept, uninterruptible sleep (D); and,
while the server task was runnable, what ran on the CPUs (CPU time summed over the CPUs, by
class). Printed for all those operations and for those in a correlated group at 5 ms (the
correlated-excursion rule's groups, before the canary excusal). --load N adds N Python busy
loops at normal priority, each in a session of its own (tests.benchmarks.loaded_machine).
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from harness.checkers.correlated import correlated_groups, excursions
from harness.checkers.ops import operations
from harness.history import read_events
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.targets.local import LocalSamba
from tests.benchmarks.loaded_machine import start_load, stop_load

EVENTS = ["sched:sched_switch", "sched:sched_waking"]
CORRELATED_MARGIN_MS = 5.0
HEAD = re.compile(r"^\s*(.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(sched:\w+):\s*(.*)$")
SWITCH = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> "
                    r"next_comm=(.*?) next_pid=(\d+) next_prio=(\d+)")
WAKING = re.compile(r"comm=(.*?) pid=(\d+) prio=(\d+)")


class Trace:
    """Per task: state segments (start_s, end_s, state); per CPU: who ran when; who woke whom.
    Built from ``perf script`` lines (pure)."""

    def __init__(self, lines) -> None:
        self.comm: dict[int, str] = {}
        self.prio: dict[int, int] = {}
        self.segs: dict[int, list] = defaultdict(list)
        self.ran: dict[int, list] = defaultdict(list)  # cpu -> [(start_s, end_s, tid)]
        self.wakers: dict[int, list] = defaultdict(list)  # tid -> [(t_s, waker tid)]
        state: dict[int, tuple[str, float]] = {}
        on_cpu: dict[int, tuple[int, float]] = {}

        def enter(tid: int, t: float, new: str) -> None:
            if tid in state:
                self.segs[tid].append((state[tid][1], t, state[tid][0]))
            state[tid] = (new, t)

        for line in lines:
            m = HEAD.match(line)
            if not m:
                continue
            _, tid, cpu, t, event, rest = m.groups()
            tid, cpu, t = int(tid), int(cpu), float(t)
            if event == "sched:sched_switch" and (s := SWITCH.search(rest)):
                pc, pp, ppr, pst, nc, np_, npr = s.groups()
                pp, np_ = int(pp), int(np_)
                self.comm.update({pp: pc, np_: nc})
                self.prio.update({pp: int(ppr), np_: int(npr)})
                if pp:
                    enter(pp, t, "runnable" if pst.startswith("R") else ("D" if "D" in pst else "sleep"))
                if np_:
                    enter(np_, t, "run")
                if cpu in on_cpu:
                    self.ran[cpu].append((on_cpu[cpu][1], t, on_cpu[cpu][0]))
                on_cpu[cpu] = (np_, t)
            elif event == "sched:sched_waking" and (s := WAKING.search(rest)):
                woken = int(s.group(2))
                self.comm[woken] = s.group(1)
                self.prio[woken] = int(s.group(3))
                self.wakers[woken].append((t, tid))
                if woken in state and state[woken][0] in ("sleep", "D"):
                    enter(woken, t, "runnable")
        self._starts = {c: [r[0] for r in v] for c, v in self.ran.items()}

    def states(self, tid: int, a: float, b: float) -> Counter:
        out: Counter = Counter()
        for s, e, st in self.segs.get(tid, ()):
            if e > a and s < b:
                out[st] += min(b, e) - max(a, s)
        return out

    def runnable(self, tid: int, a: float, b: float) -> list[tuple[float, float]]:
        return [(max(a, s), min(b, e)) for s, e, st in self.segs.get(tid, ())
                if st == "runnable" and e > a and s < b]

    def running_during(self, spans) -> Counter:
        """CPU time of every task that ran during ``spans``, summed over the CPUs."""
        out: Counter = Counter()
        for a, b in spans:
            for cpu, lst in self.ran.items():
                i = max(0, bisect.bisect_left(self._starts[cpu], a) - 1)
                for s, e, tid in lst[i:]:
                    if s > b:
                        break
                    if min(b, e) > max(a, s):
                        out[tid] += min(b, e) - max(a, s)
        return out

    def last_waker(self, tid: int, a: float, b: float) -> int | None:
        found = None
        for t, w in self.wakers.get(tid, ()):
            if a <= t <= b and w not in (0, tid):
                found = w
        return found


def task_class(trace: Trace, tid: int, probers: set[int], load: set[int]) -> str:
    comm, prio = trace.comm.get(tid, "?"), trace.prio.get(tid, 120)
    if tid in probers:
        return "our probers"
    if tid in load:
        return "load (busy loops)"
    if comm.startswith(("smbd", "nmbd", "cleanupd")):
        return f"smbd/nmbd (prio {prio})"
    if tid == 0 or comm.startswith("swapper"):
        return "idle"
    if prio < 100:
        return f"other real-time (SCHED_RR/FIFO {99 - prio}): {comm}"
    return "other normal"


def analyse(trace: Trace, history: list[dict], slow_ms: float, load: set[int], totals: dict) -> None:
    start = next(e for e in history if e.get("type") == "run" and e.get("event") == "start")
    t0, pids = start["t0_monotonic"], start.get("pids", {})
    probers = set(pids.values())
    ops = [o for o in operations(history) if o.role == "healthy"]
    excs = excursions(ops, {p: CORRELATED_MARGIN_MS for p in {o.probe for o in ops}},
                      lambda o: o.latency_us)
    grouped = {(e.process, e.sent_s) for g in correlated_groups(excs, 2) for e in g}
    for o in ops:
        if o.outcome != "ok" or not o.latency_us or o.latency_us < slow_ms * 1000:
            continue
        sent = o.sent_s if o.sent_s is not None else o.intended_s
        a, b = t0 + sent, t0 + o.intended_s + o.latency_us / 1e6
        client = pids.get(o.process)
        server = trace.last_waker(client, a, b + 0.0005) if client else None
        kinds = ["all"] + (["grouped"] if (o.process, sent) in grouped else [])
        for kind in kinds:
            tot = totals.setdefault(kind, {"n": 0, "latency": 0.0, "client": Counter(),
                                           "server": Counter(), "meanwhile": Counter()})
            tot["n"] += 1
            tot["latency"] += b - a
            if client:
                tot["client"].update(trace.states(client, a, b))
            if server:
                tot["server"].update(trace.states(server, a, b))
                for tid, s in trace.running_during(trace.runnable(server, a, b)).items():
                    tot["meanwhile"][task_class(trace, tid, probers, load)] += s


def report(totals: dict) -> None:
    for kind in ("all", "grouped"):
        tot = totals.get(kind)
        label = "slow operations" if kind == "all" else \
            f"of them in a correlated group at {CORRELATED_MARGIN_MS:g} ms (before excusal)"
        if not tot:
            print(f"{label}: none")
            continue
        ms = lambda c: ", ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(c.items()) if v > 0.00005)  # noqa: E731
        print(f"{label}: {tot['n']}, latency {tot['latency'] * 1000:.1f} ms in all")
        print(f"  server task (ms): {ms(tot['server'])}")
        print(f"  prober (ms): {ms(tot['client'])}")
        print("  on the CPUs while the server task was runnable (ms, summed over CPUs):")
        for k, v in tot["meanwhile"].most_common(8):
            print(f"    {k:<50} {v * 1000:8.1f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--scenario", default="rst")
    p.add_argument("--slow-ms", type=float, default=5.0)
    p.add_argument("--load", type=int, default=0, help="Python busy loops to add (0: none)")
    p.add_argument("--server-rt", action="store_true",
                   help="the embedded smbd/nmbd at SCHED_RR instead of normal priority")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    perf = shutil.which("perf")
    if not perf or os.geteuid() != 0:
        print("server_wait: needs root and perf (apt-get install linux-perf)", file=sys.stderr)
        return 2
    scenario = resolve([args.scenario])[0].with_overrides(dict(kv.split("=", 1) for kv in args.set))
    LocalSamba.raise_server_priority = args.server_rt
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-bench-"))
    load_procs: list = []
    tracer = None
    try:
        load_procs, what = start_load("python", args.load, budget_s=60 + 15 * args.runs) \
            if args.load else ([], "no load")
        data = work / "perf.data"
        tracer = subprocess.Popen([perf, "record", "-a", "-q", "-k", "CLOCK_MONOTONIC", "-o", str(data),
                                   *[a for e in EVENTS for a in ("-e", e)]],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        time.sleep(1.0)  # perf's buffers are mapped
        histories = []
        with LocalSamba() as target:
            print(f"scenario {scenario.name}, {args.runs} runs, smbd/nmbd at {target.server_sched}, "
                  f"{what}, load average {os.getloadavg()[0]:.2f}", flush=True)
            for i in range(args.runs):
                r = run_scenario(scenario, target, work / str(i))
                if r.history:
                    histories.append(list(read_events(Path(r.history))))
        load_after = os.getloadavg()[0]
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=120)
        tracer = None
        load = {lp.pid for lp in load_procs}
        stop_load(load_procs)
        load_procs = []
        script = subprocess.run([perf, "script", "-i", str(data), "-F", "comm,tid,cpu,time,event,trace"],
                                capture_output=True, text=True, timeout=600, check=False)
        trace = Trace(script.stdout.splitlines())
        totals: dict = {}
        for events in histories:
            analyse(trace, events, args.slow_ms, load, totals)
        print(f"load average after {load_after:.2f}; operations slower than {args.slow_ms:g} ms, "
              f"their [sent, completed] windows:")
        report(totals)
        return 0
    finally:
        if tracer is not None and tracer.poll() is None:
            os.killpg(tracer.pid, signal.SIGKILL)
            tracer.wait(timeout=10)
        stop_load(load_procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
