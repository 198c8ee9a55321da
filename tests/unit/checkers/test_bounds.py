"""Per-probe latency floors: a probe of several round trips in a row gets the default floors
times its registry floor_scale, unless the scenario bounds it itself."""

from harness.checkers.bounds import Bound, Bounds
from harness.probes import PROBES
from harness.scenario.model import from_dict


def test_several_round_trips_get_proportionally_higher_floors_unless_bounded_explicitly():
    bounds = Bounds(Bound(p99_floor_ms=100.0, max_floor_ms=250.0), {"smb_meta": Bound(p99_floor_ms=7.0)},
                    floor_scale={"smb_logon": 3.0, "smb_meta": 2.0})
    logon = bounds.for_probe("smb_logon")
    assert (logon.p99_floor_ms, logon.max_floor_ms, logon.p99_factor) == (300.0, 750.0, 5.0)
    assert bounds.for_probe("smb_meta").p99_floor_ms == 7.0  # the scenario's own bound wins
    assert bounds.for_probe("smb_echo") == bounds.default
    assert bounds.to_json()["per_probe"]["smb_logon"]["p99_floor_ms"] == 300.0
    # the registry's scales reach every scenario, and a tighter default scales with them
    sc = from_dict({"name": "x", "bounds": {"p99_floor_ms": 20}}, "test")
    assert sc.bounds.for_probe("smb_logon").p99_floor_ms == 20 * PROBES["smb_logon"].floor_scale
    assert sc.with_overrides({"bounds.p99_floor_ms": "40"}).bounds.for_probe("smb_logon").p99_floor_ms \
        == 40 * PROBES["smb_logon"].floor_scale
