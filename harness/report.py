"""Reports: the per-scenario table and report.json, pure functions of the verdicts."""

from __future__ import annotations

from harness.errors import EXIT_FAIL, EXIT_INFRA, EXIT_PASS
from harness.schedule import PHASES

REPORT_VERSION = 1


def scenario_entry(result: dict, scenario=None, extra: dict | None = None) -> dict:
    """One scenarios[] entry of report.json (the contract: name, verdict, reason, drop,
    probes, violations), plus description, history path and bounds for humans."""
    drop = result.get("drop")
    entry = {
        "name": result["name"],
        "verdict": result["verdict"],
        "reason": result.get("reason", ""),
        "drop": None if drop is None else {
            "mode": drop.get("mode"), "at_s": drop.get("at_s"), "evidence": drop.get("evidence"),
            "evidence_at_s": drop.get("evidence_at_s"),
            **({"no_evidence": drop["no_evidence"]} if drop.get("no_evidence") else {}),
            **({"detail": drop["detail"]} if drop.get("detail") else {}),
            **({"after": drop["after"]} if drop.get("after") else {}),
        },
        "probes": result.get("probes", {}),
        "violations": result.get("violations", []),
        "host_stalls": result.get("host_stalls"),
    }
    if result.get("scratch"):
        entry["scratch"] = result["scratch"]
    if result.get("access"):  # a contended probe's time-to-access and status sequence
        entry["access"] = result["access"]
    if scenario is not None:
        entry["description"] = scenario.description
        entry["dialect"] = scenario.dialect
        entry["bounds"] = scenario.bounds.to_json()
        entry["phases"] = {name: [round(a, 3), round(b, 3)] for name, a, b in scenario.phases.spans()}
    if result.get("history"):
        entry["history"] = result["history"]
    if extra:
        entry.update(extra)
    return entry


def errored_entry(name: str, reason: str) -> dict:
    return {"name": name, "verdict": "error", "reason": reason, "drop": None, "probes": {},
            "violations": []}


def report_doc(entries: list[dict], target: str, server: str | None = None) -> dict:
    """report.json; ``server`` (e.g. 'Samba 4.17.12-Debian') only where the target knows it."""
    counts = {v: sum(1 for e in entries if e["verdict"] == v) for v in ("pass", "fail", "error", "skip")}
    doc = {"version": REPORT_VERSION, "target": target, "summary": counts, "scenarios": entries}
    if server:
        doc["server"] = server
    return doc


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _p99_cell(row: dict) -> str:
    """The p99 column: the p99, or ``max*`` when fewer than 100 samples make it the max."""
    return "max*" if row.get("p99_basis") == "max" else _ms(row["p99_us"])


def render_table(entry: dict) -> str:
    """probe x phase: count, errors, p50, p99, max (ms); the verdict and its violations.

    A row with fewer than 100 successful samples has no p99: its cell reads ``max*``."""
    lines = [f"== {entry['name']}: {entry['verdict'].upper()}  {entry.get('reason', '')}"]
    drop = entry.get("drop")
    if drop:
        ev = drop.get("evidence")
        at = "-" if drop.get("at_s") is None else f"{drop['at_s']:.3f}s"
        lines.append(f"   drop {drop.get('mode')} at {at}; evidence: "
                     + (", ".join(f"{k}={v}" for k, v in ev.items()) if ev else
                        drop.get("no_evidence", "none")))
    access = entry.get("access")
    if access:
        from harness.checkers.access import access_line

        lines.append("   " + access_line(access))
    probes = entry.get("probes") or {}
    few = False
    if probes:
        lines.append(f"   {'probe':<12} {'phase':<9} {'count':>6} {'errors':>6} "
                     f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for probe, phases in probes.items():
            for phase in PHASES:
                row = phases.get(phase)
                if not row:
                    continue
                few = few or row.get("p99_basis") == "max"
                lines.append(f"   {probe:<12} {phase:<9} {row['count']:>6} {row['errors']:>6} "
                             f"{_ms(row['p50_us']):>8} {_p99_cell(row):>8} {_ms(row['max_us']):>8}")
    if few:
        lines.append("   max*: fewer than 100 samples, so no p99; the p99 bound is applied to the max")
    for v in entry.get("violations", []):
        if v["stat"] == "time_to_access":
            lines.append(f"   VIOLATION {v['probe']} time to access: {v.get('note')} "
                         f"(limit {v['limit_us'] / 1e6:g} s)")
        elif v["stat"] == "errors":
            lines.append(f"   VIOLATION {v['probe']} {v['phase']} errors: {v['observed']} > {v['limit']}")
        else:
            stat = "p99 (max, n<100)" if v.get("basis") == "max" else v["stat"]
            lines.append(f"   VIOLATION {v['probe']} {v['phase']} {stat}: "
                         f"{_ms(v['observed_us'])} ms > limit {_ms(v['limit_us'])} ms")
    return "\n".join(lines)


def exit_code(entries: list[dict]) -> int:
    """0 all passed (skips listed); 1 any failed; 3 none failed but something errored."""
    verdicts = {e["verdict"] for e in entries}
    if "fail" in verdicts:
        return EXIT_FAIL
    if "error" in verdicts:
        return EXIT_INFRA
    return EXIT_PASS
