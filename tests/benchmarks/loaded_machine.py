"""Loaded machine: false failures of the default suite on a healthy embedded Samba while other
processes keep every core busy. A benchmark, not a test (minutes, and it loads the machine).

    apt-get install stress-ng          # Debian's; without it a Python busy loop is used
    sudo .venv/bin/python -m tests.benchmarks.loaded_machine --runs 20

Starts the load (``stress-ng --cpu <cores>`` at normal priority, or as many Python busy
loops), then runs ``nbt-harness run`` (every default scenario, target ``local``) --runs
times. The server is healthy, so every scenario whose verdict is ``fail`` or ``error`` is a
false failure. For each one it prints the violation (probe, phase, statistic, observed and
limit), the canary's figures in that phase (how late the machine woke an idle process), and
the worst samples split into how late the prober sent (it woke late for its send time:
its own scheduling, or its previous operation was still running) and the rest (send to
answer: the server, or the prober scheduled out while waiting). The load ends with the script on every exit path (and by
itself after its time budget if the script is killed). Exit 0 when there was no false failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

from harness.checkers.bounds import Bound
from harness.schedule import JUDGED_PHASES

KNOWN_BOUND_KEYS = {f.name for f in fields(Bound)}
RUN_TIMEOUT_S = 900.0
CANARY_STALL_MS = 20.0  # the harness's default host_stall_ms


def _with_parent(argv: list[str]) -> list[str]:
    """argv that gets SIGTERM when this script dies (util-linux setpriv), where available."""
    return ["setpriv", "--pdeathsig", "SIGTERM", *argv] if shutil.which("setpriv") else argv


def start_load(kind: str, workers: int, budget_s: float) -> tuple[list[subprocess.Popen], str]:
    """Start ``workers`` CPU hogs at normal priority; (processes, description)."""
    if kind == "none":
        return [], "no load"
    if kind in ("auto", "stress-ng") and shutil.which("stress-ng"):
        argv = ["stress-ng", "--cpu", str(workers), "--timeout", f"{int(budget_s)}s", "--quiet"]
        proc = subprocess.Popen(_with_parent(argv), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [proc], " ".join(argv[:3])
    if kind == "stress-ng":
        raise SystemExit("loaded_machine: stress-ng not found (apt-get install stress-ng)")
    loop = f"import time\nend = time.monotonic() + {budget_s}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen(_with_parent([sys.executable, "-c", loop]), start_new_session=True)
             for _ in range(workers)]
    return procs, f"{workers} Python busy loops"


def stop_load(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


# ---- diagnosis (pure) ---------------------------------------------------------------------

def phase_span(events: list[dict], phase: str) -> tuple[float, float] | None:
    for e in events:
        if e.get("type") == "run" and e.get("event") == "start":
            for name, a, b in e.get("phases", []):
                if name == phase:
                    return float(a), float(b)
    return None


def canary_in(events: list[dict], a_s: float, b_s: float, stall_ms: float = CANARY_STALL_MS) -> dict:
    """The canary's late wake-ups (it records those over 5 ms) overlapping [a_s, b_s]: each
    one is the span (woke - late, woke)."""
    late = [e["late_us"] / 1000 for e in events if e.get("type") == "canary"
            and e["t_s"] >= a_s and e["t_s"] - e["late_us"] / 1e6 <= b_s]
    return {"late_wakeups": len(late), "worst_ms": round(max(late, default=0.0), 1),
            "over_stall_ms": sum(x > stall_ms for x in late), "total_late_ms": round(sum(late), 1)}


def samples(events: list[dict], probe: str, phase: str) -> list[dict]:
    """Healthy samples of one probe in one phase: latency, how late it was sent (the
    completion's sent_s, or an invocation written after the sleep, minus the intended time)
    and the rest."""
    inv, out = {}, []
    for e in events:
        if e.get("probe") != probe or e.get("role", "healthy") != "healthy":
            continue
        key = (e.get("process"), e.get("seq"))
        if e["type"] == "invoke":
            if e.get("phase") == phase:
                inv[key] = e
        elif key in inv:
            i = inv.pop(key)
            lat_ms = (e.get("latency_us") or 0) / 1000
            # the completion's sent_s where the probe records it (its invocation is then
            # written before the wait); else the invocation's own time (written after it)
            sent_s = e["sent_s"] if e.get("sent_s") is not None else i["t_s"]
            sent_ms = (sent_s - i["intended_s"]) * 1000
            out.append({"process": e.get("process"), "intended_s": i["intended_s"],
                        "outcome": e["type"], "latency_ms": round(lat_ms, 1),
                        "sent_late_ms": round(sent_ms, 1), "rest_ms": round(lat_ms - sent_ms, 1),
                        "error": e.get("error")})
    out += [{"process": k[0], "intended_s": i["intended_s"], "outcome": "stall",
             "latency_ms": None, "sent_late_ms": None, "rest_ms": None,
             "error": "no completion"} for k, i in inv.items()]
    return out


def headroom(entry: dict) -> tuple[float, str]:
    """The largest observed/limit ratio of a report entry's judged rows (1.0 = at the bound),
    with where it was; limits as harness.checkers.bounds computes them. Pure."""
    bounds = entry.get("bounds") or {}
    best, where = 0.0, ""
    for probe, phases in (entry.get("probes") or {}).items():
        b = {k: v for k, v in {**(bounds.get("default") or {}),
                               **((bounds.get("per_probe") or {}).get(probe) or {})}.items()
             if k in KNOWN_BOUND_KEYS}
        base = (phases.get("baseline") or {}).get("p99_us")
        if base is None:
            continue
        limits = Bound(**b).limits_us(base)
        for phase in JUDGED_PHASES:
            row = phases.get(phase) or {}
            for stat in ("p99_us", "max_us"):
                if row.get(stat) is not None and row[stat] / limits[stat] > best:
                    best = row[stat] / limits[stat]
                    where = (f"{entry['name']} {probe}/{phase} {stat[:-3]} {row[stat] / 1000:.1f}"
                             f" of {limits[stat] / 1000:.0f} ms")
    return best, where


def wakeups(events: list[dict]) -> tuple[float, float]:
    """(latest send of any healthy prober after its intended time: asleep too long, or
    still in its previous operation; latest canary wake-up) in ms over a history."""
    intended = {(e.get("process"), e.get("probe"), e.get("seq")): e for e in events
                if e.get("type") == "invoke" and e.get("role", "healthy") == "healthy"
                and "intended_s" in e}
    probers = []
    for e in events:
        i = intended.get((e.get("process"), e.get("probe"), e.get("seq")))
        if i is None or e.get("type") == "invoke":
            continue
        sent_s = e["sent_s"] if e.get("sent_s") is not None else i["t_s"]
        probers.append((sent_s - i["intended_s"]) * 1000)
    canary = [e["late_us"] / 1000 for e in events if e.get("type") == "canary"]
    return round(max(probers, default=0.0), 1), round(max(canary, default=0.0), 1)


def diagnose(entry: dict, events: list[dict], worst: int = 3) -> list[str]:
    """Lines explaining one failed or errored scenario entry of report.json."""
    lines = [f"{entry['name']}: {entry['verdict']}: {entry.get('reason', '')}"]
    hs = entry.get("host_stalls") or {}
    lines.append(f"  canary over the run: {hs.get('count', '?')} host stall(s) > {CANARY_STALL_MS:g}"
                 f" ms, worst {hs.get('worst_us', 0) / 1000:.1f} ms")
    for v in entry.get("violations", []):
        probe, phase = v["probe"], v["phase"]
        row = (entry.get("probes", {}).get(probe, {}) or {}).get(phase, {})
        if v["stat"] == "errors":
            what = f"errors {v.get('observed')} > limit {v.get('limit')}"
        else:
            what = f"{v['stat']} {v['observed_us'] / 1000:.1f} ms > limit {v['limit_us'] / 1000:.1f} ms"
        lines.append(f"  {probe}/{phase} {what} ({row.get('count', '?')} samples, "
                     f"{row.get('host_stall_corrected', 0)} host-stall corrected)")
        span = phase_span(events, phase)
        if span:
            c = canary_in(events, *span)
            lines.append(f"    canary in {phase}: {c['late_wakeups']} late wake-ups (> 5 ms), "
                         f"{c['over_stall_ms']} over {CANARY_STALL_MS:g} ms, worst {c['worst_ms']} ms,"
                         f" {c['total_late_ms']} ms late in all")
        ss = samples(events, probe, phase)
        bad = [s for s in ss if s["outcome"] != "ok"]
        top = sorted((s for s in ss if s["latency_ms"] is not None),
                     key=lambda s: -s["latency_ms"])[:worst]
        for s in bad[:worst]:
            lines.append(f"    {s['outcome']} {s['process']} at {s['intended_s']:.2f}s: {s['error']}")
        for s in top:
            a = s["intended_s"]
            c = canary_in(events, a, a + s["latency_ms"] / 1000 + 0.01)
            lines.append(f"    worst {s['latency_ms']} ms ({s['process']} at {a:.2f}s): sent "
                         f"{s['sent_late_ms']} ms late, {s['rest_ms']} ms after; canary worst "
                         f"{c['worst_ms']} ms in that window")
    return lines


# ---- the benchmark ------------------------------------------------------------------------

def run_suite(cmd: list[str]) -> tuple[int | None, str]:
    """Run the harness; on our own interruption or its timeout, SIGTERM it (it tears down),
    SIGKILL its group only if it is still there 60 s later. (exit code or None, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=Path(__file__).resolve().parents[2])
    try:
        _, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        return proc.returncode, err
    except BaseException as exc:  # a timeout or our own interruption: stop it cleanly
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            subprocess.run(cmd[:3] + ["cleanup"], capture_output=True, timeout=120, check=False)
        if isinstance(exc, subprocess.TimeoutExpired):
            return None, f"no exit within {RUN_TIMEOUT_S:.0f}s"
        raise


def read_events(path: Path) -> list[dict]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except OSError:
        pass
    return out


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--load", choices=("auto", "stress-ng", "python", "none"), default="auto",
                   help="auto: stress-ng if installed, else Python busy loops")
    p.add_argument("--load-workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--keep", type=Path, default=None,
                   help="copy the reports of runs with false failures here")
    p.add_argument("scenarios", nargs="*", help="default: every shipped scenario")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("loaded_machine: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    if args.runs < 1:
        print("loaded_machine: --runs must be at least 1", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: the load stops, dirs go
        signal.signal(sig, _interrupted)
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-loaded-"))
    load, how = start_load(args.load, args.load_workers, args.runs * RUN_TIMEOUT_S + 60)
    print(f"loaded machine: {args.runs} runs of the suite, load: {how}", flush=True)
    false_failures = scenario_runs = 0
    interrupted = False
    tally: dict[str, int] = {}
    try:
        time.sleep(1.0)  # the load is running before the first run starts
        for i in range(1, args.runs + 1):
            rd = work / f"run{i:02d}"
            cmd = [sys.executable, "-m", "harness", "run", *args.scenarios, "--quiet",
                   "--report-dir", str(rd), *[a for kv in args.set for a in ("--set", kv)]]
            t = time.monotonic()
            rc, stderr = run_suite(cmd)
            took = time.monotonic() - t
            if rc == 2:
                print(f"loaded_machine: bad input: {stderr.strip()}", file=sys.stderr)
                return 2
            try:
                doc = json.loads((rd / "report.json").read_text())
            except (OSError, ValueError):
                print(f"run {i:02d}: no report (exit {rc}): {stderr.strip()[-300:]}", flush=True)
                false_failures += 1
                continue
            bad = [s for s in doc["scenarios"] if s["verdict"] in ("fail", "error")]
            scenario_runs += len(doc["scenarios"])
            false_failures += len(bad)
            load1 = os.getloadavg()[0]
            ratio, where = max((headroom(s) for s in doc["scenarios"]), default=(0.0, ""))
            late = [wakeups(read_events(Path(s["history"]))) for s in doc["scenarios"]
                    if s.get("history")]
            print(f"run {i:02d}: {len(doc['scenarios'])} scenarios, {len(bad)} false failure(s) "
                  f"in {took:.0f}s (exit {rc}, load average {load1:.1f}); closest to "
                  f"a bound: {ratio:.2f} ({where}); probers sent at most "
                  f"{max((a for a, _ in late), default=0):.1f} ms late, the canary woke "
                  f"{max((b for _, b in late), default=0):.1f} ms late", flush=True)
            for s in bad:
                tally[s["name"]] = tally.get(s["name"], 0) + 1
                events = read_events(Path(s["history"])) if s.get("history") else []
                for line in diagnose(s, events):
                    print(f"  {line}", flush=True)
            if bad and args.keep:
                shutil.copytree(rd, args.keep / rd.name, dirs_exist_ok=True)
            shutil.rmtree(rd, ignore_errors=True)
    except KeyboardInterrupt:
        print("loaded_machine: interrupted; the figures cover the runs done", file=sys.stderr)
        interrupted = True
    finally:
        stop_load(load)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nfalse failures: {false_failures} of {scenario_runs} scenario runs"
          + (f" ({', '.join(f'{k} x{n}' for k, n in sorted(tally.items()))})" if tally else ""))
    return 130 if interrupted else 0 if false_failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
