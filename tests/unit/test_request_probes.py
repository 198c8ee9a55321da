"""The request classes' pure parts: the rename information smb_meta sends, and how the runner
plans their processes (one shared prober per healthy client, each stream on its own offset)."""

from pathlib import Path

from harness.probes import PROBES
from harness.probes.smb_meta import rename_information
from harness.run.runner import plan_workers
from harness.scenario.model import from_dict
from harness.server import Endpoint

SHARED = [name for name, kind in PROBES.items() if kind.shared]


def test_rename_information_literal_bytes():
    # [MS-FSCC] 2.4.37 as SMB2 sends it: ReplaceIfExists, 7 reserved, RootDirectory (8),
    # FileNameLength (4), the name in UTF-16LE
    assert rename_information("ab", smb1=False) == (
        b"\x00" + b"\x00" * 7 + b"\x00" * 8 + b"\x04\x00\x00\x00" + b"a\x00b\x00")
    # SMB1 pass-through: a 4-byte RootDirectory; the name as the connection's flags say
    assert rename_information("ab", smb1=True) == (
        b"\x00" + b"\x00" * 3 + b"\x00" * 4 + b"\x04\x00\x00\x00" + b"a\x00b\x00")
    assert rename_information("ab", smb1=True, unicode=False) == (
        b"\x00" + b"\x00" * 3 + b"\x00" * 4 + b"\x02\x00\x00\x00" + b"ab")


class _Lab:
    """What plan_workers reads of a target: its endpoint and the lab host of each role."""

    endpoint = Endpoint("10.213.0.1", "NBTHSRV", "share", "root", "pw")

    def client_netns(self, role: str) -> str:
        return f"ns-{role}"


def test_each_healthy_client_runs_every_request_class_in_one_process():
    scenario = from_dict({"name": "x", "healthy_clients": 3, "drop": {"mode": "rst"}}, "test")
    specs = plan_workers(scenario, _Lab(), Path("/nonexistent"), drop=None)
    shared = [s for s in specs if s.shared]
    assert [s.name for s in shared] == ["c1_shared", "c2_shared", "c3_shared"]
    for s in shared:
        assert list(s.rates_hz) == SHARED and set(s.staggers) == set(SHARED)
    assert not any(p in s.rates_hz for s in specs if not s.shared for p in SHARED)
    # 11 prober processes as before (nbstat, nbt_session, 3 x echo, rw, open), 3 more in all
    assert len([s for s in specs if not s.shared]) == 11
    # every stream of every process has an offset of its own
    offsets = [(s.name, p, st) for s in shared for p, st in s.staggers.items()]
    assert len({(p, round(st / PROBES[p].default_rate_hz, 4)) for _, p, st in offsets}) == len(offsets)


def test_a_rate_of_zero_leaves_a_class_out_and_no_classes_leave_no_shared_process():
    off = {p: 0 for p in SHARED}
    scenario = from_dict({"name": "x", "probes": {**off, "smb_logon": 1}}, "test")
    specs = plan_workers(scenario, _Lab(), Path("/nonexistent"), drop=None)
    assert [list(s.rates_hz) for s in specs if s.shared] == [["smb_logon"]] * 3
    scenario = from_dict({"name": "x", "probes": off}, "test")
    assert not any(s.shared for s in plan_workers(scenario, _Lab(), Path("/nonexistent"), drop=None))


def test_several_round_trips_get_proportionally_higher_floors_unless_bounded_explicitly():
    from harness.checkers.bounds import Bound, Bounds

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


def test_a_low_default_rate_rises_to_one_send_per_shortest_phase():
    # test_matrix's phases: a 0.5 s recovery, where a 1 Hz stream may send nothing
    sc = from_dict({"name": "x", "phases": {"baseline_s": 1.0, "fault_s": 1.0, "recovery_s": 0.5}}, "test")
    assert sc.rates_hz["smb_logon"] == sc.rates_hz["smb_meta"] == 2.0
    assert sc.rates_hz["smb_stat"] == 2.0 and sc.rates_hz["smb_echo"] == 10.0
    # the default phases keep the default rates, and a rate asked for is kept
    assert from_dict({"name": "x"}, "test").rates_hz["smb_logon"] == PROBES["smb_logon"].default_rate_hz
    sc = from_dict({"name": "x", "phases": {"recovery_s": 0.25}, "probes": {"smb_logon": 0.5}}, "test")
    assert sc.rates_hz["smb_logon"] == 0.5 and sc.rates_hz["smb_stat"] == 4.0
