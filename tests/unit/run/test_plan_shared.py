"""How the run's plan (harness.run.plan) lays out the request classes' processes: one shared prober per healthy client,
every stream on an offset of its own."""

from pathlib import Path

from harness.probes import PROBES
from harness.run.plan import workers as plan_workers
from harness.scenario.model import from_dict
from harness.server import Endpoint

SHARED = [name for name, kind in PROBES.items() if kind.shared]


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
