"""Several victims and a seeded fault schedule (``scenarios/repeated/two_victims-rst_fin``: two
victims, six drops drawn RST or FIN by seed 18). On the embedded Samba every drop is proven on
its own (its server socket gone) and the run passes; behind ``replica:any`` (the same Samba,
frozen for a second after each lost session) the healthy clients stall and the run fails, and
the reproducer it leaves, run again, plans the very same drop times. Two victims each hold a
batch oplock of their own (``holdings/batch_oplock-rst`` with ``victims = 2``): both granted,
both RSTs proven, the contended open granted, both held files swept.

Short phases: the drops every 1.0 s (each victim's 2 s apart, as the schedule allows), a 6.5 s
fault phase, three probes (smb_echo, nbstat, smb_rw: light on a loaded machine); the default,
replica and holding runs at once, then the replay: about 35 s for the file.
"""

from __future__ import annotations

import os

import pytest

from harness.probes import PROBES
from tests.support.holding_runs import Run, run_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the embedded target needs root"),
]

SCENARIO = "repeated/two_victims-rst_fin"
NAME = "two_victims-rst_fin"
SHORT = {  # three probes (light on a loaded machine; the replica's freeze stalls all three)
    **{f"probes.{name}": 0 for name, kind in PROBES.items() if kind.default_rate_hz > 0},
    "probes.smb_echo": 10,
    "probes.nbstat": 10,
    "probes.smb_rw": 4,
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
    plan.append(Run("held", "local", "rst", ("batch_oplock",), sets={"victims": 2}))
    got = run_all(plan, first)
    (reproducer,) = (first / "1").rglob("reproducer.toml")
    got[("reproducers", "local")] = list((first / "0").rglob("reproducer.toml"))
    got[("html", "local")] = (first / "0" / "report.html").read_text()
    replay_dir = work / "replay"
    replay_dir.mkdir()
    got.update({("replay", k[1]): v for k, v in run_all(
        [Run("replay", "replica:any", str(reproducer), (), plain=True)], replay_dir).items()})
    return got


def test_every_drop_is_proven_and_the_run_passes_on_the_embedded_samba(runs):
    r = runs[("local", NAME)]
    assert r["verdict"] == "pass", (r["reason"], r.get("drops"))
    assert runs[("reproducers", "local")] == []  # a pass leaves none
    assert r["reason"].endswith("6 drops (fin, rst) proven") or r["reason"].endswith("6 drops (rst) proven")
    assert [d["victim"] for d in r["drops"]] == ["victim", "victim2"] * 3
    for d in r["drops"]:  # each its own server socket, gone or closing
        assert d["evidence"]["server_socket_before"] == "ESTAB", d
        assert d["evidence"]["server_socket_after"] in ("gone", "CLOSE-WAIT", "LAST-ACK", "TIME-WAIT"), d
        assert d["at_s"] - d["scheduled_s"] < 0.5, d
    assert len({d["evidence"]["peer"] for d in r["drops"]}) == 6  # a new session for each
    html = runs[("html", "local")]  # each drop a row of report.html and a mark on its timeline
    assert "<h3>Drops: 6</h3>" in html and html.count('data-mark="drop"') == 6, html[-2000:]


def test_fails_behind_a_replica_that_freezes_and_the_reproducer_replays_the_drops(runs):
    r = runs[("replica", NAME)]
    assert r["verdict"] == "fail", r["reason"]
    assert any(v["phase"] == "fault" for v in r["violations"]), r["violations"]
    again = runs[("replay", NAME)]
    assert planned(again) == planned(r) == planned(runs[("local", NAME)])
    assert again["drops"][0]["at_s"] - again["drops"][0]["scheduled_s"] < 0.5


def test_two_victims_each_hold_a_batch_oplock_of_their_own(runs):
    r = runs[("held", "batch_oplock-rst")]
    assert r["verdict"] == "pass", (r["reason"], r.get("access"))
    assert [(d["victim"], bool(d["evidence"])) for d in r["drops"]] == [("victim", True), ("victim2", True)]
    granted = r["access"]["granted"]
    assert granted["victim"] == "victim" and granted["holds"] == "batch_oplock", granted
    assert r["access"]["time_to_access_s"] <= r["access"]["max_wait_s"], r["access"]
    assert any(f.endswith("-v2.dat") for f in r["scratch"]["removed"]) and r["scratch"]["left"] == [], r["scratch"]
