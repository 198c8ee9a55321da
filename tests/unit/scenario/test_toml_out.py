"""A scenario's dict form as TOML: tomllib reads back what was written."""

import tomllib

import pytest

from harness.scenario.model import from_dict
from harness.scenario.toml_out import dumps


def test_what_is_written_reads_back():
    d = {
        "name": 'odd "name"\twith\\escapes é',
        "victims": 2,
        "flag": False,
        "ratio": 1e-05,
        "skip_me": None,
        "phases": {"fault_s": 8.0, "recovery_s": 1.0},
        "bounds": {"p99_floor_ms": 100.0, "none_here": None, "per_probe": {"smb_echo": {"max_floor_ms": 250.0}}},
        "schedule": {"modes": ["rst", "fin"], "drops": [{"at_s": 2.054, "victim": 1, "mode": "fin"}]},
        "a key": {},
    }
    text = dumps(d, "first line\nsecond line")
    assert text.startswith("# first line\n# second line\n")
    got = tomllib.loads(text)
    expected = {k: v for k, v in d.items() if v is not None}
    expected["bounds"] = {"p99_floor_ms": 100.0, "per_probe": {"smb_echo": {"max_floor_ms": 250.0}}}
    assert got == expected


def test_a_scenario_round_trips():
    sc = from_dict({"name": "x", "victims": 2, "drop": {"mode": "rst"}, "phases": {"fault_s": 8.0},
                    "schedule": {"every_s": 1.2, "count": 6, "seed": 3}, "probes": {"smb_lock": 0}}, "test")
    again = from_dict(tomllib.loads(dumps(sc.to_dict())), "again")
    assert again.to_dict() == sc.to_dict()
    assert again.schedule == sc.schedule and again.rates_hz == sc.rates_hz and again.bounds == sc.bounds


def test_what_toml_cannot_hold_is_refused():
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})
    with pytest.raises(ValueError):
        dumps({"x": object()})
