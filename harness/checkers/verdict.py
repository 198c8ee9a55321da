"""The scenario verdict: compose run errors, drop evidence and latency bounds. Pure.

Order: the server lost or changed data it acknowledged (a read-back differed) -> ``fail``,
whatever else broke; the run broke (a client could not start, no samples) -> ``error``; a bound was
violated -> ``fail`` (a stall is a stall, whatever else happened); the drop left no
server-side evidence, or began so late that the fault phase did not hold it -> ``error``
(never ``pass``); otherwise ``pass``. A durable reclaim (the ``reclaim`` drop) is judged by
harness.checkers.reclaim: a stale reclaim granted is a violation like a bound's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.checkers.access import access_summary, attempt_status
from harness.checkers.bounds import Bounds, check_bounds
from harness.checkers.correlated import check_correlated, excursions
from harness.checkers.drops import drop_problems, drops_summary
from harness.checkers.ops import corrected_latency_us, host_stalls, operations, probe_table
from harness.checkers.reclaim import reclaim_summary
from harness.checkers.waits import explain
from harness.checkers.writes import write_violations
from harness.findings import DropResult, HostStalls, PhaseStats, Scratch, Violation
from harness.results import ScenarioResult

HOST_STALL_US = 20_000.0  # a canary wake-up this late means the machine, not the server, stalled
# A drop that began this much after its scheduled instant was not judged by the phases named
# after it: the fault phase ran (in part) before it. Well above a loaded machine's ordinary
# lateness, well below an overloaded one's (docs/pages/benchmarks-code-notes.md).
DROP_LATE_LIMIT_S = 0.5


def drop_summary(events: list[dict]) -> dict | None:
    """{mode, at_s, evidence, ...} from the drop events, or None if no drop was scheduled."""
    drop: dict | None = None
    for e in events:
        if e.get("type") != "drop" or e.get("index", 0) != 0:  # several: the first (drops.py)
            continue
        drop = drop or {"mode": e.get("mode"), "at_s": None, "evidence": None, "end_s": None}
        kind = e.get("event")
        if kind == "start" and drop["at_s"] is None:
            drop["at_s"] = e["t_s"]
        elif kind == "evidence":
            drop["evidence"] = e.get("evidence")
            drop["evidence_at_s"] = e["t_s"]
        elif kind == "no_evidence":
            drop["no_evidence"] = e.get("reason", "no server-side evidence")
        elif kind == "end":
            drop["end_s"] = e["t_s"]
            drop.setdefault("detail", e.get("detail"))
        elif kind in ("heal", "after_heal", "victim_traffic"):
            drop.setdefault("after", []).append(
                {k: v for k, v in e.items() if k not in ("type", "process", "mode")}
            )
        elif kind == "scheduled":
            drop["scheduled_s"] = e.get("at_s")
    return drop


def late_drop(drop: dict | None, limit_s: float = DROP_LATE_LIMIT_S) -> str | None:
    """Why the drop's phases do not describe it, if it began more than ``limit_s`` after its
    scheduled instant; None when it was on time (or never scheduled or never began)."""
    if not drop or drop.get("at_s") is None or drop.get("scheduled_s") is None:
        return None
    late_s = drop["at_s"] - drop["scheduled_s"]
    if late_s <= limit_s:
        return None
    return (
        f"began {late_s:.2f} s late (scheduled at {drop['scheduled_s']:.2f} s, began at "
        f"{drop['at_s']:.2f} s; limit {limit_s:g} s): the fault phase did not hold it "
        "(an overloaded machine?)"
    )


def correlated_violations(
    ops: list,
    bounds: Bounds,
    probes: list[str],
    windows: list[tuple[float, float]],
    late_windows: Sequence[tuple[float, float]] = (),
) -> list[dict]:
    """The correlated-excursion rule (checkers.correlated) over the healthy clients' operations
    of the judged probes; nothing when no probe has a correlated margin. ``windows``: the
    host stalls taken off latencies; ``late_windows``: every late wake-up the canaries
    recorded (a group in flight during one is excused)."""
    margins = {p: bounds.for_probe(p).correlated_margin_ms for p in probes}
    if not any(m > 0 for m in margins.values()):
        return []
    excs = excursions(
        (o for o in ops if o.role == "healthy" and o.probe in margins),
        margins,
        lambda op: corrected_latency_us(op, windows),
    )
    return check_correlated(excs, bounds.default.correlated_streams, late_windows)


def idle_losses(events: list[dict]) -> list[dict]:
    """Idle sessions the server closed after the warm-up: a healthy client dropped."""
    lost: dict[str, int] = {}
    for e in events:
        if e.get("type") == "idle_lost" and e.get("phase") != "warmup":
            lost[e["phase"]] = lost.get(e["phase"], 0) + 1
    return [
        {
            "probe": "idle",
            "phase": phase,
            "stat": "errors",
            "observed_us": None,
            "limit_us": None,
            "observed": n,
            "limit": 0,
        }
        for phase, n in sorted(lost.items())
    ]


def verdict(
    events: list[dict],
    bounds: Bounds,
    probes: list[str],
    expect_drop: str | None,
    host_stall_us: float | None = HOST_STALL_US,
    access: dict | None = None,
) -> ScenarioResult:
    """The scenario's result (verdict, reason, drop, probes, violations, host_stalls, scratch,
    problems, access) from the history alone; its name and history path are the caller's to set.

    host_stall_us: canary lateness that marks a machine stall; the part of a sample's latency
    that overlaps such a stall is taken off it (None: take nothing off).
    access: {probe, holds, max_wait_s, max_answer_s} for a contended probe (checkers.access),
    which is then judged by its time-to-access instead of the latency bounds.
    """
    windows = host_stalls(events, host_stall_us) if host_stall_us is not None else []
    ops = operations(events)
    drop = drop_summary(events)
    table = probe_table(ops, roles=("healthy",), host_stall_windows=windows)
    judged = [p for p in probes if not (access and p == access.get("probe"))]
    violations, problems = check_bounds(
        table, bounds, judged, lambda probe: _most_common_error(probe, ops)
    )
    late = (
        host_stalls(events, 0.0) if host_stall_us is not None else []
    )  # every recorded late wake-up
    violations += correlated_violations(ops, bounds, judged, windows, late)
    violations += idle_losses(events)
    writes = write_violations(events)  # acknowledged writes never lost, in any phase
    violations += writes
    integrity = [v for v in writes if v["stat"] in ("read_back", "lost_write")]
    access_result = None
    if access:
        access_result, access_violations = access_summary(
            [o for o in ops if o.role == "healthy"],
            drop.get("at_s") if drop else None,
            access.get("max_wait_s"),
            access.get("holds"),
            access.get("probe", "smb_contend"),
            access.get("max_answer_s"),
        )
        violations += access_violations
        if access_result is None:  # never tried is never a pass
            problems.append(
                f"contended probe {access.get('probe', 'smb_contend')} made 0 attempts: "
                "access to the held file was not tested"
            )
        else:  # what the server granted the victim at set-up
            held = next((e for e in events if e.get("type") == "holding"), None)
            access_result["granted"] = held and {
                k: v for k, v in held.items() if k not in ("type", "process", "t_s")
            }
    violations = explain(violations, events, ops, drop.get("at_s") if drop else None)
    reclaimed, reclaim_violations, reclaim_problems = reclaim_summary(events, ops)
    violations += reclaim_violations  # a durable reclaim judged by [MS-SMB2]
    problems += reclaim_problems
    run_errors = [e.get("error", "error") for e in events if e.get("type") == "error"]
    scratch = next((e for e in reversed(events) if e.get("type") == "scratch"), None)
    result = ScenarioResult(
        name="",
        verdict="pass",
        probes={
            p: {ph: PhaseStats.from_json(row) for ph, row in rows.items()}
            for p, rows in table.items()
        },
        violations=tuple(Violation.from_json(v) for v in violations),
        drop=(
            DropResult.from_json({k: v for k, v in drop.items() if k in DropResult.KEYS})
            if drop
            else None
        ),
        scratch=scratch
        and Scratch(tuple(scratch.get("removed", [])), tuple(scratch.get("left", []))),
        host_stalls=HostStalls(
            count=len(windows), worst_us=round(max((b - a for a, b in windows), default=0) * 1e6)
        ),
        extra=({} if access_result is None else {"access": access_result})
        | ({} if reclaimed is None else {"reclaim": reclaimed}),
    )
    each_drop = drops_summary(events)  # a run of several drops: each its own evidence
    if each_drop:
        result = result.with_(extra={**result.extra, "drops": each_drop})
    if integrity:  # the server lost or changed acknowledged data: a fail, whatever else failed
        worst = ", ".join(f"{v['probe']}/{v['phase']} {v['stat']}" for v in integrity[:4])
        return result.with_(
            verdict="fail",
            problems=tuple(run_errors + problems),
            reason=f"acknowledged data came back wrong: {worst}"
            + "".join(f"; {p}" for p in run_errors + problems),
        )
    if run_errors or problems:
        return _error(result, run_errors + problems)
    late_note = late_drop(drop)
    if violations:
        worst = ", ".join(f"{v['probe']}/{v['phase']} {v['stat']}" for v in violations[:4])
        more = f" (+{len(violations) - 4} more)" if len(violations) > 4 else ""
        return result.with_(
            verdict="fail",
            reason=f"{len(violations)} bound(s) violated: {worst}{more}"
            + (f"; {late_note}" if late_note else ""),
        )
    if expect_drop and each_drop:
        unproven = drop_problems(each_drop, DROP_LATE_LIMIT_S)
        if unproven:
            return _error(result, unproven)
        modes = ", ".join(sorted({str(d["mode"]) for d in each_drop}))
        reason = f"all bounds held; {len(each_drop)} drops ({modes}) proven"
        return result.with_(verdict="pass", reason=reason)
    if expect_drop:
        if drop is None or drop.get("at_s") is None:
            return _error(result, [f"drop {expect_drop} never started"])
        if late_note:
            return _error(result, [f"drop {expect_drop} {late_note}"])
        if not drop.get("evidence"):
            why = drop.get("no_evidence", "no server-side evidence recorded")
            return _error(result, [f"drop {expect_drop} unproven: {why}"])
    return result.with_(
        verdict="pass",
        reason="all bounds held" + (f"; drop {expect_drop} proven" if expect_drop else ""),
    )


def _most_common_error(probe: str, ops: list) -> str | None:
    """``N x ERROR``: the healthy clients' most frequent error of ``probe`` (operations never
    sent left out: the cause, not its echoes), or None."""
    errors = Counter(
        o.error
        for o in ops
        if o.role == "healthy" and o.probe == probe and o.error and attempt_status(o) != "not_sent"
    )
    if not errors:
        return None
    error, n = errors.most_common(1)[0]
    return f"{n} x {' '.join(str(error).split())[:160]}"


def _error(result: ScenarioResult, problems: list[str]) -> ScenarioResult:
    return result.with_(verdict="error", reason="; ".join(problems), problems=tuple(problems))
