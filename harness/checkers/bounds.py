"""Latency bounds: fault- and recovery-phase statistics against the same probe's baseline.

limit(stat) = max(floor, factor x baseline p99): an absolute floor so that a very fast
baseline does not turn scheduler noise into alarms, and a multiple so that a slow server is
judged against itself. With fewer than 100 successful samples a row's ``p99_us`` is its
maximum (``p99_basis`` "max"): the baseline's then scales the limits, and a judged row's is
compared against the p99 limit; violations say so (``basis``). With ``excursion_margin_ms``
> 0, samples above the baseline's maximum plus that margin are also judged (see
excursions). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace

from harness.checkers.excursions import check_excursions
from harness.schedule import JUDGED_PHASES
from harness.validate import number

# Largest accepted value of each bound key (a floor of an hour already means "no bound").
MAX_BOUND = {
    "p99_floor_ms": 3.6e6,
    "p99_factor": 1e6,
    "max_floor_ms": 3.6e6,
    "max_factor": 1e6,
    "max_errors": 10**9,
    "excursion_margin_ms": 3.6e6,
    "max_excursions": 10**9,
    "correlated_margin_ms": 3.6e6,
    "correlated_streams": 10**6,
}


@dataclass(frozen=True)
class Bound:
    p99_floor_ms: float = 100.0  # p99 <= max(p99_floor_ms, p99_factor x baseline p99)
    p99_factor: float = 5.0  # see p99_floor_ms
    max_floor_ms: float = 250.0  # max <= max(max_floor_ms, max_factor x baseline p99)
    max_factor: float = 10.0  # see max_floor_ms
    max_errors: int = 0  # failures, timeouts and unanswered operations allowed per phase
    # > 0: judged samples above baseline max + this are counted (excursions)
    excursion_margin_ms: float = 0.0
    max_excursions: int = 0  # excursions allowed beyond what the baseline's own rate predicts
    # > 0: judged operations above baseline max + this are excursions, and excursions of at
    # least correlated_streams processes in flight together fail the phase (checkers.correlated)
    correlated_margin_ms: float = 0.0
    correlated_streams: int = 2  # processes whose excursions overlap: see correlated_margin_ms

    def __post_init__(self) -> None:
        for f in fields(self):  # nan would pass every comparison: rejected with inf
            number(
                getattr(self, f.name),
                f"bound {f.name}",
                0,
                MAX_BOUND[f.name],
                integer=f.name in ("max_errors", "max_excursions", "correlated_streams"),
            )

    def limits_us(self, baseline_p99_us: float) -> dict[str, float]:
        return {
            "p99_us": max(self.p99_floor_ms * 1000.0, self.p99_factor * baseline_p99_us),
            "max_us": max(self.max_floor_ms * 1000.0, self.max_factor * baseline_p99_us),
        }


@dataclass(frozen=True)
class Bounds:
    default: Bound = field(default_factory=Bound)
    per_probe: dict[str, Bound] = field(default_factory=dict)
    # probe -> how many times the default's floors (p99_floor_ms, max_floor_ms) apply to it
    # when it has no bounds of its own: an operation of several round trips in a row meets
    # the machine's scheduling noise at each (harness.probes ``floor_scale``)
    floor_scale: dict[str, float] = field(default_factory=dict)

    def for_probe(self, probe: str) -> Bound:
        if probe in self.per_probe:
            return self.per_probe[probe]
        scale = self.floor_scale.get(probe, 1.0)
        if scale == 1.0:
            return self.default
        d = self.default
        return replace(
            d,
            p99_floor_ms=min(d.p99_floor_ms * scale, MAX_BOUND["p99_floor_ms"]),
            max_floor_ms=min(d.max_floor_ms * scale, MAX_BOUND["max_floor_ms"]),
        )

    def to_json(self) -> dict:
        """The default and every probe's own bounds, the scaled ones as they apply."""
        scaled = {p: asdict(self.for_probe(p)) for p in self.floor_scale if p not in self.per_probe}
        return {
            "default": asdict(self.default),
            "per_probe": {**scaled, **{k: asdict(v) for k, v in self.per_probe.items()}},
        }


def errors_violation(probe: str, phase: str, errors: int, max_errors: int) -> dict:
    """A phase with more failed operations than its bound allows."""
    return {
        "probe": probe,
        "phase": phase,
        "stat": "errors",
        "observed_us": None,
        "limit_us": None,
        "observed": errors,
        "limit": max_errors,
    }


def latency_violation(probe: str, phase: str, stat: str, row: dict, limit_us: float) -> dict:
    """A phase row's ``stat`` (p99_us or max_us) over ``limit_us``."""
    v = {
        "probe": probe,
        "phase": phase,
        "stat": stat[:-3],
        "observed_us": row[stat],
        "limit_us": int(limit_us),
    }
    if stat == "p99_us" and row.get("p99_basis") == "max":
        v["basis"] = "max"  # fewer than 100 samples: the max held to the p99 limit
    return v


def check_bounds(
    table: dict[str, dict[str, dict]],
    bounds: Bounds,
    probes: list[str],
    why_no_baseline: Callable[[str], str | None] | None = None,
) -> tuple[list[dict], list[str]]:
    """Violations of the bounds, and problems that make the table unjudgeable (a probe with
    no successful baseline sample says why, when ``why_no_baseline`` knows)."""
    violations: list[dict] = []
    problems: list[str] = []
    for probe in probes:
        phases = table.get(probe, {})
        bound = bounds.for_probe(probe)
        base = phases.get("baseline")
        if not base or base["p99_us"] is None:
            why = why_no_baseline(probe) if why_no_baseline else None
            problems.append(
                f"{probe}: no successful baseline samples" + (f" ({why})" if why else "")
            )
            continue
        limits = bound.limits_us(base["p99_us"])
        for phase in JUDGED_PHASES:
            row = phases.get(phase)
            if not row or row["count"] == 0:
                problems.append(f"{probe}: no samples in phase {phase}")
                continue
            if row["errors"] > bound.max_errors:
                violations.append(errors_violation(probe, phase, row["errors"], bound.max_errors))
            violations.extend(
                latency_violation(probe, phase, stat, row, limits[stat])
                for stat in ("p99_us", "max_us")
                if row[stat] is not None and row[stat] > limits[stat]
            )
            excursion = check_excursions(
                probe, phase, base, row, bound.excursion_margin_ms, bound.max_excursions
            )
            if excursion:
                violations.append(excursion)
    return violations, problems
