"""The crowd's figures and their bounds. Pure: from the ``crowd`` event the runner wrote to
the history (each worker's encoded HdrHistograms per phase x operation, and the workers the
master lost), one row per phase and the violations of the crowd's own bounds.

A crowd row: count (operations started in the phase, or caught by it: see
harness.crowd.recorder), errors (failed or unanswered), p50, p99 and max of the successful
ones (µs, from the merged histograms: exact across workers), and how many workers reported
operations in it. Judged like the probes, against the crowd's
own baseline: errors <= max_errors and p99 <= max(p99_floor_ms, p99_factor x baseline p99).
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from harness.checkers import histograms
from harness.checkers.bounds import errors_violation, latency_violation
from harness.results import ScenarioResult
from harness.schedule import JUDGED_PHASES, PHASES
from harness.stats import p99_basis

CROWD = "crowd"  # the probe name of the crowd's rows and violations


class CrowdBounds(Protocol):
    """The crowd's bounds, as a scenario's [crowd] table gives them
    (harness.scenario.crowd.CrowdSpec)."""

    @property
    def max_errors(self) -> int: ...

    def p99_limit_us(self, baseline_p99_us: float) -> float: ...


def crowd_event(events: list[dict]) -> dict | None:
    """The last ``crowd`` result event of the history, or None."""
    return next(
        (e for e in reversed(events) if e.get("type") == CROWD and e.get("event") == "result"), None
    )


def _stat(h, q: float) -> int | None:
    return None if h.get_total_count() == 0 else int(h.get_value_at_percentile(q))


def crowd_rows(reports: dict[str, dict]) -> dict[str, dict]:
    """{phase: row} from {worker: {phase: {op: {count, errors, hdr, top_error}}}}."""
    rows: dict[str, dict] = {}
    for phase in PHASES:
        merged = histograms.new()
        count = errors = 0
        workers = 0
        ops: Counter[str] = Counter()
        top: Counter[str] = Counter()
        for per_phase in reports.values():
            cells = per_phase.get(phase) or {}
            if cells:
                workers += 1
            for op, cell in cells.items():
                count += int(cell.get("count", 0))
                errors += int(cell.get("errors", 0))
                ops[op] += int(cell.get("count", 0))
                if cell.get("hdr"):
                    merged.add(histograms.decode(cell["hdr"]))
                if cell.get("top_error"):
                    n, _, text = str(cell["top_error"]).partition(" x ")
                    top[text] += int(n) if n.isdigit() else 1
        if not count:
            continue
        ok = merged.get_total_count()
        rows[phase] = {
            "count": count,
            "errors": errors,
            "p50_us": _stat(merged, 50),
            "p99_us": _stat(merged, 99) if ok >= 100 else (merged.get_max_value() or None),
            "max_us": merged.get_max_value() or None,
            "p99_basis": p99_basis(ok),
            "workers": workers,
            "ops": dict(ops),
            "hdr": histograms.encode(merged),
            **(
                {"top_error": f"{top.most_common(1)[0][1]} x {top.most_common(1)[0][0]}"}
                if top
                else {}
            ),
        }
    return rows


def check_crowd(rows: dict[str, dict], spec: CrowdBounds) -> tuple[list[dict], list[str]]:
    """Violations of the crowd's bounds, and problems that leave it unjudgeable."""
    violations: list[dict] = []
    problems: list[str] = []
    base = rows.get("baseline")
    if not base or base["p99_us"] is None:
        return [], [f"{CROWD}: no successful baseline operations"]
    limit_us = spec.p99_limit_us(base["p99_us"])
    for phase in JUDGED_PHASES:
        row = rows.get(phase)
        if not row:
            problems.append(f"{CROWD}: no operations in phase {phase}")
            continue
        if row["errors"] > spec.max_errors:
            violations.append(errors_violation(CROWD, phase, row["errors"], spec.max_errors))
        if row["p99_us"] is not None and row["p99_us"] > limit_us:
            violations.append(latency_violation(CROWD, phase, "p99_us", row, limit_us))
    return violations, problems


def lost_lines(lost: list[dict]) -> list[str]:
    """One line per worker the master lost: which, when and why."""
    out = []
    for w in lost:
        at = w.get("at_s")
        phase = f" ({w['phase']})" if w.get("phase") else ""
        when = "" if at is None else f", last heard at {at:.1f} s{phase}"
        out.append(f"{CROWD} worker {w.get('worker')} lost{when}: {w.get('why', 'no report')}")
    return out


def judge(result: ScenarioResult, events: list[dict], spec: CrowdBounds | None) -> ScenarioResult:
    """The result with the crowd's rows (``extra.crowd``) and its verdict folded in: a lost
    worker or a crowd that never reported is an error (its figures are incomplete); a
    broken crowd bound fails a run that had passed. A skip stays a skip."""
    if spec is None or result.verdict == "skip":
        return result
    event = crowd_event(events)
    if event is None:
        summary: dict = {"rows": {}, "workers": [], "lost": []}
        problems = [f"{CROWD}: no figures from the crowd's master"]
        violations: list[dict] = []
    else:
        rows = crowd_rows(event.get("reports") or {})
        lost = list(event.get("lost") or [])
        summary = {
            "rows": rows,
            "workers": list(event.get("workers") or []),
            "lost": lost,
            "users": event.get("users"),
            "spawned": event.get("spawned"),
        }
        violations, problems = check_crowd(rows, spec)
        problems = lost_lines(lost) + problems
    from harness.findings import Violation

    result = result.with_(
        extra={**result.extra, CROWD: summary},
        violations=result.violations + tuple(Violation.from_json(v) for v in violations),
    )
    if problems:  # as the verdict's order has it: a run that broke is an error, not a fail
        all_problems = (*result.problems, *problems)
        reason = "; ".join(all_problems)
        if result.verdict == "fail":
            reason += f"; {result.reason}"
        return result.with_(verdict="error", reason=reason, problems=all_problems)
    if violations:
        worst = ", ".join(f"{CROWD}/{v['phase']} {v['stat']}" for v in violations[:4])
        note = f"{len(violations)} crowd bound(s) violated: {worst}"
        if result.verdict == "pass":
            return result.with_(verdict="fail", reason=note)
        return result.with_(reason=f"{result.reason}; {note}")
    return result
