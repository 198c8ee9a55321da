"""Reports: the per-scenario table, the report document and the exit code, pure functions of
the results (harness.results)."""

from __future__ import annotations

from harness.checkers.access import access_line
from harness.checkers.reclaim import reclaim_line
from harness.errors import EXIT_FAIL, EXIT_INFRA, EXIT_PASS
from harness.report.crowd import crowd_lines
from harness.report.drops import drops_lines
from harness.results import Report, ScenarioResult, nothing_tested
from harness.schedule import PHASES


def scenario_entry(
    result: ScenarioResult,
    scenario=None,
    extra: dict | None = None,
    *,
    target: str | None = None,
    duration_s: float | None = None,
    server_logs: str | None = None,
) -> ScenarioResult:
    """The result as report.json keeps it: with what the scenario asked for (description,
    dialect, bounds, phases) and where it ran (target, duration_s, server_logs). ``extra``:
    more entry keys (a known one sets its field, any other is kept in ``result.extra``)."""
    if scenario is not None:
        result = result.with_(
            description=scenario.description,
            dialect=scenario.dialect,
            bounds=scenario.bounds.to_json(),
            phases={name: [round(a, 3), round(b, 3)] for name, a, b in scenario.phases.spans()},
            # the dialect as asked (an alias or an exact name) is `dialect`; the exact one and
            # the transport too (what the sessions got is `negotiated`, from the runner)
            extra={
                **result.extra,
                "dialect_exact": scenario.dialect_exact,
                "transport": scenario.transport,
            },
        )
    named = {"target": target, "duration_s": duration_s, "server_logs": server_logs}
    run = {**(extra or {}), **{k: v for k, v in named.items() if v is not None}}
    typed = {k: v for k, v in run.items() if k in ScenarioResult.KEYS}
    other = {k: v for k, v in run.items() if k not in ScenarioResult.KEYS}
    return result.with_(**typed, extra={**result.extra, **other})


def errored_entry(name: str, reason: str) -> ScenarioResult:
    return ScenarioResult.errored(name, reason)


def report_doc(entries: list[ScenarioResult], target: str, server: str | None = None) -> Report:
    """The report; ``server`` (e.g. 'Samba 4.17.12-Debian') only where the target knows it."""
    return Report(target=target, scenarios=tuple(entries), server=server)


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _p99_cell(row) -> str:
    """The p99 column: the p99, or ``max*`` when fewer than 100 samples make it the max."""
    return "max*" if row.p99_basis == "max" else _ms(row.p99_us)


def render_table(entry: ScenarioResult) -> str:
    """probe x phase: count, errors, p50, p99, max (ms); the verdict and its violations.

    A row with fewer than 100 successful samples has no p99: its cell reads ``max*``."""
    lines = [f"== {entry.name}: {entry.verdict.upper()}  {entry.reason}"]
    got = entry.extra.get("negotiated")
    if isinstance(got, dict):
        lines.append("   " + negotiated_line(got, entry.dialect))
    drop = entry.drop
    if drop:
        ev = drop.evidence
        at = "-" if drop.at_s is None else f"{drop.at_s:.3f}s"
        lines.append(
            f"   drop {drop.mode} at {at}; evidence: "
            + (", ".join(f"{k}={v}" for k, v in ev.items()) if ev else drop.no_evidence or "none")
        )
    lines += drops_lines(entry.extra.get("drops"))  # a run of several drops: each its own
    access = entry.extra.get("access")
    if access:  # a contended probe's time-to-access and status sequence
        lines.append("   " + access_line(access))
    reclaimed = entry.extra.get("reclaim")
    if isinstance(reclaimed, dict):  # a durable reclaim and what [MS-SMB2] expects of it
        lines.append("   " + reclaim_line(reclaimed))
    few = False
    if entry.probes:
        lines.append(
            f"   {'probe':<12} {'phase':<9} {'count':>6} {'errors':>6} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        )
        for probe, phases in entry.probes.items():
            for phase in PHASES:
                row = phases.get(phase)
                if not row:
                    continue
                few = few or row.p99_basis == "max"
                lines.append(
                    f"   {probe:<12} {phase:<9} {row.count:>6} {row.errors:>6} "
                    f"{_ms(row.p50_us):>8} {_p99_cell(row):>8} {_ms(row.max_us):>8}"
                )
    lines += crowd_lines(entry.extra.get("crowd"))
    if few:
        lines.append(
            "   max*: fewer than 100 samples, so no p99; the p99 bound is applied to the max"
        )
    for v in entry.violations:
        detail = v.extra.get("detail")
        if v.stat in ("time_to_access", "first_answer"):
            limit = "none" if v.limit_us is None else f"{v.limit_us / 1e6:g} s"
            what = v.stat.replace("_", " ")
            lines.append(f"   VIOLATION {v.probe} {what}: {v.extra.get('note')} (limit {limit})")
        elif detail:  # not a figure against a limit (e.g. a lost write)
            lines.append(f"   VIOLATION {v.probe} {v.phase} {v.stat}: {detail}")
        elif v.stat == "errors":
            lines.append(f"   VIOLATION {v.probe} {v.phase} errors: {v.observed} > {v.limit}")
        else:
            stat = "p99 (max, n<100)" if v.basis == "max" else v.stat
            lines.append(
                f"   VIOLATION {v.probe} {v.phase} {stat}: "
                f"{_ms(v.observed_us)} ms > limit {_ms(v.limit_us)} ms"
            )
        if v.extra.get("waited_on"):  # harness.checkers.waits
            lines.append(f"     waited on: {v.extra['waited_on']}")
    return "\n".join(lines)


def negotiated_line(got: dict, asked: str | None) -> str:
    """``negotiated SMB 2.0.2 over nbt (port 139) by 7 clients; asked: any``."""
    line = (
        f"negotiated SMB {got.get('dialect')} over {got.get('transport')} "
        f"(port {got.get('port')}) by {got.get('clients')} clients"
    )
    if got.get("mixed"):
        line += f" (they disagree: {', '.join(map(str, got['mixed']))})"
    return line + (f"; asked: {asked}" if asked else "")


def nothing_tested_line(entries: list[ScenarioResult]) -> str | None:
    """The run's last line when every scenario was skipped ("nothing was tested" and why),
    else None."""
    why = nothing_tested(entries)
    if why is None:
        return None
    n = len(entries)
    return (
        f"nothing was tested: {'the' if n == 1 else 'all'} {n} scenario{'s' * (n != 1)} "
        f"{'was' if n == 1 else 'were'} skipped: " + "; ".join(why)
    )


def exit_code(entries: list[ScenarioResult]) -> int:
    """0 all passed (skips listed); 1 any failed; 3 none failed but something errored."""
    verdicts = {e.verdict for e in entries}
    if "fail" in verdicts:
        return EXIT_FAIL
    if "error" in verdicts:
        return EXIT_INFRA
    return EXIT_PASS
