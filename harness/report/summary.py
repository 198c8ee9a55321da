"""Key figures of one scenario's result, for a one-line summary and JUnit properties.
Pure: works from the result (report.json's entry) alone."""

from __future__ import annotations

from harness.checkers.bounds import Bound
from harness.results import ScenarioResult
from harness.schedule import JUDGED_PHASES


def limits_of(entry: ScenarioResult, probe: str) -> dict[str, float] | None:
    """The probe's p99 and max limits in µs, from the bound it was judged by and its baseline
    (the scenario's default bound where the entry records none); None without a baseline p99."""
    base = entry.row(probe, "baseline")
    if base is None or base.p99_us is None:
        return None
    raw = entry.bound_for(probe) or {}
    bound = Bound(**{k: v for k, v in raw.items() if k in Bound.__dataclass_fields__})
    return bound.limits_us(base.p99_us)


def worst_probe(entry: ScenarioResult) -> dict | None:
    """The judged figure closest to (or furthest past) its limit: {probe, phase, stat,
    observed_us, limit_us, ratio, basis} (``basis`` "max, n<100" when a p99 of fewer than 100
    samples is its maximum); an error-count violation wins over any latency (its observed and
    limit are counts). None when nothing was judged (skip, or no baseline)."""
    errors = [v for v in entry.violations if v.stat == "errors"]
    if errors:
        v = max(errors, key=lambda v: v.observed or 0)
        return {
            "probe": v.probe,
            "phase": v.phase,
            "stat": "errors",
            "basis": None,
            "observed": v.observed,
            "limit": v.limit,
            "ratio": float("inf"),
        }
    worst = None
    for probe, phases in entry.probes.items():
        limits = limits_of(entry, probe)
        if limits is None:
            continue
        for phase in JUDGED_PHASES:
            row = phases.get(phase)
            for stat in ("p99_us", "max_us"):
                observed = getattr(row, stat) if row else None
                if observed is None or not limits[stat]:
                    continue
                ratio = observed / limits[stat]
                if worst is None or ratio > worst["ratio"]:
                    basis = (
                        "max, n<100"
                        if stat == "p99_us" and row and row.p99_basis == "max"
                        else None
                    )
                    worst = {
                        "probe": probe,
                        "phase": phase,
                        "stat": stat[:-3],
                        "basis": basis,
                        "observed_us": observed,
                        "limit_us": int(limits[stat]),
                        "ratio": round(ratio, 4),
                    }
    return worst


def junit_properties(entry: ScenarioResult) -> list[tuple[str, str]]:
    """(name, value) pairs for a pytest item's user_properties (JUnit <property>)."""
    props = [("nbt_verdict", entry.verdict), ("nbt_reason", entry.reason)]
    worst = worst_probe(entry)
    if worst:
        props.append(("nbt_worst_probe", f"{worst['probe']}/{worst['phase']}/{worst['stat']}"))
        if worst["stat"] == "errors":
            props += [
                ("nbt_worst_observed", str(worst["observed"])),
                ("nbt_worst_limit", str(worst["limit"])),
            ]
        else:
            props += [
                ("nbt_worst_observed_ms", f"{worst['observed_us'] / 1000:.3f}"),
                ("nbt_worst_limit_ms", f"{worst['limit_us'] / 1000:.3f}"),
            ]
    return props
