"""The run's plan on hand-written scenarios and a hand-written target description: which
processes, on which hosts, with which rates; what access the checker expects."""

from pathlib import Path

from harness.probes import PROBES
from harness.run.plan import access_expectation, healthy_host, needs_sessions, workers
from harness.scenario.model import from_dict
from harness.server import Endpoint

EVENTS = Path("/nowhere/nbth-1-events-x")


class Described:
    """What the plan reads of a target: its endpoint, name, kind and client namespaces."""
    name = "local"
    kind = "local"
    endpoint = Endpoint("10.213.0.1", "SRV", "share", "user")

    def client_netns(self, role: str) -> str:
        return f"ns-{role}"


SHARED_OFF = {name: 0 for name, kind in PROBES.items() if kind.shared}


def scenario(**d):
    """A scenario; the request classes (one shared prober per client: test_plan_shared) are
    off where the probes are given."""
    if "probes" in d:
        d["probes"] = {**SHARED_OFF, **d["probes"]}
    return from_dict({"name": "s", **d}, "test")


def test_healthy_clients_are_spread_round_robin_over_hosts():
    assert [healthy_host(i, 1) for i in range(3)] == ["healthy"] * 3
    assert [healthy_host(i, 2) for i in range(5)] == ["healthy", "healthy2", "healthy", "healthy2", "healthy"]
    assert [healthy_host(i, 3) for i in range(3)] == ["healthy", "healthy2", "healthy3"]


def test_a_process_per_session_less_prober_and_per_client_probe():
    sc = scenario(healthy_clients=2, healthy_hosts=2,
                  probes={"nbstat": 20, "nbt_session": 0, "smb_echo": 10, "smb_rw": 0, "smb_open": 0})
    specs = workers(sc, Described(), EVENTS, None)
    assert [(s.name, s.netns, s.rates_hz) for s in specs] == [
        ("nbstat", "ns-healthy", {"nbstat": 20.0}),
        ("c1_smb_echo", "ns-healthy", {"smb_echo": 10.0}),
        ("c2_smb_echo", "ns-healthy2", {"smb_echo": 10.0}),
    ]
    assert {s.role for s in specs} == {"healthy"}
    assert specs[1].events_path == str(EVENTS / "events-c1_smb_echo.jsonl")
    assert len({s.stagger for s in specs}) == 3  # each sends at times of its own


def test_pooled_echoes_and_idle_sessions_share_processes():
    sc = scenario(healthy_clients=5, sessions_per_process=2, idle_sessions=260,
                  probes={"nbstat": 0, "nbt_session": 0, "smb_echo": 10, "smb_rw": 0, "smb_open": 0})
    specs = workers(sc, Described(), EVENTS, None)
    pools = [(s.name, s.sessions, s.first_index, s.all_sessions) for s in specs if not s.idle]
    assert pools == [("p1_smb_echo", 2, 0, 5), ("p2_smb_echo", 2, 2, 5), ("p3_smb_echo", 1, 4, 5)]
    idle = [(s.name, s.sessions) for s in specs if s.idle]
    assert idle == [("idle1", 250), ("idle2", 10)]
    assert all(s.pool for s in specs)


def test_the_victim_runs_on_its_own_host_with_the_drop():
    sc = scenario(drop={"mode": "rst"})
    drop = object()
    victim = workers(sc, Described(), EVENTS, drop)[-1]
    assert (victim.name, victim.role, victim.netns, victim.drop) == ("victim", "victim", "ns-victim", drop)
    assert needs_sessions(sc, drop)


def test_sessions_are_needed_only_by_a_victim_a_pool_or_a_session_probe():
    quiet = scenario(probes={"nbstat": 20, "nbt_session": 0, "smb_echo": 0, "smb_rw": 0, "smb_open": 0})
    assert not needs_sessions(quiet, None)
    assert needs_sessions(scenario(), None)  # the default rates include session probes


def test_access_is_expected_only_with_a_contended_probe_and_a_victim():
    assert access_expectation(scenario(), Described()) is None
    held = scenario(healthy_clients=1, probe_timeout_s=10.0, drop={"mode": "blackhole"},
                    victim={"holds": "exclusive_oplock", "max_wait_s": 8.0},
                    probes={"smb_contend": 10})
    assert access_expectation(held, Described()) == {
        "probe": "smb_contend", "holds": "exclusive_oplock", "max_wait_s": 8.0,
        "max_answer_s": None}
