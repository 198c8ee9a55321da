"""The key figures a pytest item records as JUnit properties, and the worst probe. Hand-written
data only."""

from __future__ import annotations

from harness.report.summary import junit_properties, worst_probe
from harness.results import ScenarioResult


def _entry(verdict="pass", violations=()):
    row = {"count": 100, "errors": 0, "p50_us": 500, "p99_us": 1000, "max_us": 2000}
    return ScenarioResult.from_json({
        "name": "rst", "verdict": verdict, "reason": "r", "violations": list(violations),
        "bounds": {"default": {"p99_floor_ms": 100.0, "p99_factor": 5.0, "max_floor_ms": 250.0,
                               "max_factor": 10.0, "max_errors": 0},
                   "per_probe": {"nbstat": {"p99_floor_ms": 10.0, "p99_factor": 5.0,
                                            "max_floor_ms": 250.0, "max_factor": 10.0,
                                            "max_errors": 0}}},
        "probes": {
            "smb_echo": {"baseline": row, "fault": {**row, "p99_us": 50_000}, "recovery": row},
            "nbstat": {"baseline": row, "fault": {**row, "p99_us": 8_000}, "recovery": row},
        },
    })


def test_worst_probe_is_the_figure_nearest_its_limit():
    # smb_echo fault p99 50 ms of 100 ms (0.5); nbstat fault p99 8 ms of its own 10 ms (0.8)
    w = worst_probe(_entry())
    assert (w["probe"], w["phase"], w["stat"], w["observed_us"], w["limit_us"]) == (
        "nbstat", "fault", "p99", 8000, 10000)
    assert w["ratio"] == 0.8


def test_error_violation_is_the_worst():
    v = {"probe": "smb_rw", "phase": "fault", "stat": "errors", "observed_us": None,
         "limit_us": None, "observed": 3, "limit": 0}
    w = worst_probe(_entry("fail", [v]))
    assert (w["probe"], w["stat"], w["observed"], w["limit"]) == ("smb_rw", "errors", 3, 0)


def test_nothing_judged_no_worst():
    assert worst_probe(ScenarioResult.skipped("x", "not on docker")) is None


def test_junit_properties():
    props = dict(junit_properties(_entry()))
    assert props == {"nbt_verdict": "pass", "nbt_reason": "r", "nbt_worst_probe": "nbstat/fault/p99",
                     "nbt_worst_observed_ms": "8.000", "nbt_worst_limit_ms": "10.000"}
