"""Hand-written histories and scenarios covering every field of a report.json entry: the
golden report (tests/unit/data/golden_report.json) was written from them by the dict-based
report code that came before harness.results, and the typed model must give it byte for byte."""

from harness.checkers.bounds import Bound, Bounds
from harness.scenario.model import DropSpec, Scenario
from harness.schedule import Phases

BOUNDS = Bounds(per_probe={"nbstat": Bound(p99_floor_ms=50.0)})


def _op(process, probe, seq, phase, latency_us, outcome="ok", role="healthy"):
    t = {"warmup": 0.1, "baseline": 1.5, "fault": 3.5, "recovery": 6.5}[phase] + seq * 0.001
    inv = {"t_s": t, "type": "invoke", "process": process, "probe": probe, "seq": seq,
           "phase": phase, "intended_s": t, "role": role}
    if outcome is None:
        return [inv]
    done = {"t_s": t + (latency_us or 0) / 1e6, "type": outcome, "process": process, "probe": probe,
            "seq": seq, "role": role, "latency_us": latency_us,
            "error": None if outcome == "ok" else "timed out"}
    return [inv, done]


def _ops(probe, n, latency_of, process="c1"):
    ev, seq = [], 0
    for phase in ("warmup", "baseline", "fault", "recovery"):
        for i in range(n):
            ev += _op(process, probe, seq, phase, latency_of(phase, i))
            seq += 1
    return ev


def _drop(evidence=True, after=True):
    ev = [{"t_s": 0.0, "type": "drop", "event": "scheduled", "mode": "rst", "at_s": 3.0, "process": "runner"},
          {"t_s": 3.0, "type": "drop", "event": "start", "mode": "rst", "process": "victim"}]
    if evidence:
        ev.append({"t_s": 3.012, "type": "drop", "event": "evidence", "mode": "rst", "process": "runner",
                   "evidence": {"server_socket_after": "gone", "rst_seen": True}})
    else:
        ev.append({"t_s": 8.0, "type": "drop", "event": "no_evidence", "mode": "rst", "process": "runner",
                   "reason": "no server-side evidence within 5.0s"})
    ev.append({"t_s": 3.001, "type": "drop", "event": "end", "mode": "rst", "process": "victim",
               "detail": {"linger": 0}})
    if after:
        ev.append({"t_s": 3.5, "type": "drop", "event": "victim_traffic", "mode": "rst",
                   "process": "victim", "bytes": 0})
    return ev


def healthy_history():
    ev = _ops("smb_echo", 120, lambda phase, i: 800 + (i % 7) * 10)
    ev += _ops("nbstat", 30, lambda phase, i: 150 + i)
    ev += _drop()
    ev.append({"t_s": 4.0, "type": "canary", "late_us": 30_000, "process": "canary"})
    ev.append({"t_s": 9.0, "type": "scratch", "removed": ["nbth-1-c1.dat"], "left": [], "process": "runner"})
    ev.append({"t_s": 9.1, "type": "server", "source": "smbd", "event": "disconnect", "process": "runner"})
    return ev


def failing_history():
    slow = {"fault": 900_000, "recovery": 1_000}
    ev = _ops("smb_echo", 120, lambda phase, i: slow.get(phase, 1000) if i % 3 == 0 else 1000)
    ev += _ops("nbstat", 20, lambda phase, i: 400_000 if phase == "fault" else 160)
    ev += _op("c2", "nbstat", 0, "fault", None, outcome="info")
    ev += _op("c2", "nbstat", 1, "recovery", None, outcome=None)
    ev += _drop(after=False)
    ev.append({"t_s": 5.0, "type": "idle_lost", "phase": "fault", "process": "pool-0"})
    ev.append({"t_s": 5.1, "type": "idle_lost", "phase": "fault", "process": "pool-0"})
    ev.append({"t_s": 0.2, "type": "idle_lost", "phase": "warmup", "process": "pool-0"})
    return ev


def unproven_history():
    ev = _ops("smb_echo", 40, lambda phase, i: 900)
    return ev + _drop(evidence=False, after=False)


def broken_history():
    ev = _ops("smb_echo", 10, lambda phase, i: 900)[:-8]  # no recovery samples
    ev.append({"t_s": 0.5, "type": "error", "error": "c3: login failed", "process": "c3"})
    return ev


def scenario(name, drop=True, rates_hz=None):
    return Scenario(name=name, description=f"{name}: a hand-written case", dialect="smb3",
                    drop=DropSpec("rst", {}) if drop else None, bounds=BOUNDS,
                    phases=Phases(1.0, 3.0, 4.0, 3.0),  # the phases the golden report was written with
                    rates_hz=rates_hz or {"smb_echo": 50.0, "nbstat": 20.0})


# (name, history, the scenario's probe rates, extra entry keys as the CLI / plugin add them)
ECHO_ONLY = {"smb_echo": 50.0}
CASES = [
    ("healthy", healthy_history, None, {"duration_s": 12.5}),
    ("failing", failing_history, None, {"duration_s": 13.0, "server_logs": "smbd: [2026/11/26] closed"}),
    ("unproven", unproven_history, ECHO_ONLY, {"target": "local"}),
    ("broken", broken_history, ECHO_ONLY, {"duration_s": 2.25, "server_logs": ""}),
]
SKIP_REASON = "docker: the drop partition acts on the whole host"
