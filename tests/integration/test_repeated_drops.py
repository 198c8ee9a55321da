"""Several victims and a seeded fault schedule (``scenarios/repeated/two_victims-rst_fin``: two
victims, six drops drawn RST or FIN by seed 18). On the embedded Samba every drop is proven on
its own (its server socket gone) and the run passes; behind ``replica:any`` (the same Samba,
frozen for a second after each lost session) the healthy clients stall and the run fails, and
the reproducer it leaves, run again, plans the very same drop times.

Short phases: the drops every 1.0 s (each victim's 2 s apart, as the schedule allows), a 6.5 s
fault phase; the default and replica runs at once, then the replay: about 45 s for the file.
"""

from __future__ import annotations

import os

import pytest

from tests.support.holding_runs import Run, run_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the embedded target needs root"),
]

SCENARIO = "repeated/two_victims-rst_fin"
NAME = "two_victims-rst_fin"
SHORT = {
    "phases.warmup_s": 0.5,
    "phases.baseline_s": 1.5,
    "phases.fault_s": 6.5,
    "phases.recovery_s": 1.0,
    "schedule.every_s": 1.0,
}


def planned(entry):
    return [(d["index"], d["scheduled_s"], d["victim"], d["mode"]) for d in entry["drops"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("repeated")
    first = work / "first"
    first.mkdir()
    plan = [Run(key, target, SCENARIO, (), sets=SHORT, plain=True)
            for key, target in (("local", "local"), ("replica", "replica:any"))]
    got = run_all(plan, first)
    (reproducer,) = (first / "1").rglob("reproducer.toml")
    assert not list((first / "0").rglob("reproducer.toml"))  # a pass leaves none
    replay_dir = work / "replay"
    replay_dir.mkdir()
    got.update({("replay", k[1]): v for k, v in run_all(
        [Run("replay", "replica:any", str(reproducer), (), plain=True)], replay_dir).items()})
    return got


def test_every_drop_is_proven_and_the_run_passes_on_the_embedded_samba(runs):
    r = runs[("local", NAME)]
    assert r["verdict"] == "pass", (r["reason"], r.get("drops"))
    assert r["reason"].endswith("6 drops (fin, rst) proven") or r["reason"].endswith("6 drops (rst) proven")
    assert [d["victim"] for d in r["drops"]] == ["victim", "victim2"] * 3
    for d in r["drops"]:  # each its own server socket, gone or closing
        assert d["evidence"]["server_socket_before"] == "ESTAB", d
        assert d["evidence"]["server_socket_after"] in ("gone", "CLOSE-WAIT", "LAST-ACK", "TIME-WAIT"), d
        assert d["at_s"] - d["scheduled_s"] < 0.5, d
    assert len({d["evidence"]["peer"] for d in r["drops"]}) == 6  # a new session for each


def test_fails_behind_a_replica_that_freezes_and_the_reproducer_replays_the_drops(runs):
    r = runs[("replica", NAME)]
    assert r["verdict"] == "fail", r["reason"]
    assert any(v["phase"] == "fault" for v in r["violations"]), r["violations"]
    again = runs[("replay", NAME)]
    assert planned(again) == planned(r) == planned(runs[("local", NAME)])
    assert again["drops"][0]["at_s"] - again["drops"][0]["scheduled_s"] < 0.5
