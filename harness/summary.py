"""Key figures of one scenario's result, for a one-line summary and JUnit properties.
Pure: works from the result (report.json's entry) alone."""

from __future__ import annotations

from harness.checkers.bounds import Bound
from harness.results import ScenarioResult
from harness.schedule import JUDGED_PHASES


def _bound(entry: ScenarioResult, probe: str) -> Bound:
    raw = entry.bound_for(probe) or {}
    return Bound(**{k: v for k, v in raw.items() if k in Bound.__dataclass_fields__})


def worst_probe(entry: ScenarioResult) -> dict | None:
    """The judged figure closest to (or furthest past) its limit: {probe, phase, stat,
    observed_us, limit_us, ratio}; an error-count violation wins over any latency (its
    observed/limit are counts). None when nothing was judged (skip, or no baseline)."""
    errors = [v for v in entry.violations if v.stat == "errors"]
    if errors:
        v = max(errors, key=lambda v: v.observed)
        return {"probe": v.probe, "phase": v.phase, "stat": "errors",
                "observed": v.observed, "limit": v.limit, "ratio": float("inf")}
    worst = None
    for probe, phases in entry.probes.items():
        base = phases.get("baseline")
        if base is None or base.p99_us is None:
            continue
        limits = _bound(entry, probe).limits_us(base.p99_us)
        for phase in JUDGED_PHASES:
            row = phases.get(phase)
            for stat in ("p99_us", "max_us"):
                observed = getattr(row, stat) if row else None
                if observed is None or not limits[stat]:
                    continue
                ratio = observed / limits[stat]
                if worst is None or ratio > worst["ratio"]:
                    worst = {"probe": probe, "phase": phase, "stat": stat[:-3],
                             "observed_us": observed, "limit_us": int(limits[stat]),
                             "ratio": round(ratio, 4)}
    return worst


def junit_properties(entry: ScenarioResult) -> list[tuple[str, str]]:
    """(name, value) pairs for a pytest item's user_properties (JUnit <property>)."""
    props = [("nbt_verdict", entry.verdict), ("nbt_reason", entry.reason)]
    worst = worst_probe(entry)
    if worst:
        props.append(("nbt_worst_probe", f"{worst['probe']}/{worst['phase']}/{worst['stat']}"))
        if worst["stat"] == "errors":
            props += [("nbt_worst_observed", str(worst["observed"])),
                      ("nbt_worst_limit", str(worst["limit"]))]
        else:
            props += [("nbt_worst_observed_ms", f"{worst['observed_us'] / 1000:.3f}"),
                      ("nbt_worst_limit_ms", f"{worst['limit_us'] / 1000:.3f}")]
    return props
