"""Each drop of a run of several, from hand-written histories: its own evidence, and the
verdict an error (never a pass) while any one of them is unproven, late or never began."""

from harness.checkers.bounds import Bounds
from harness.checkers.drops import drop_problems, drops_summary
from harness.checkers.verdict import verdict
from tests.unit.checkers.test_verdict import history


def scheduled(index, at_s, victim, mode="rst"):
    return {"t_s": 0.0, "type": "drop", "event": "scheduled", "index": index, "mode": mode,
            "at_s": at_s, "victim": victim, "process": "runner"}


def started(index, t_s, mode="rst", victim="victim"):
    return {"t_s": t_s, "type": "drop", "event": "start", "index": index, "mode": mode, "process": victim}


def proven(index, t_s, mode="rst"):
    return {"t_s": t_s, "type": "drop", "event": "evidence", "index": index, "mode": mode,
            "evidence": {"server_socket_after": "gone"}, "process": "runner"}


def three_drops(third=None):
    ev = [scheduled(0, 3.0, "victim"), scheduled(1, 3.4, "victim2", "fin"), scheduled(2, 4.2, "victim")]
    ev += [started(0, 3.001), proven(0, 3.02), started(1, 3.402, "fin", "victim2"), proven(1, 3.43, "fin")]
    return ev + (third if third is not None else [started(2, 4.2), proven(2, 4.25)])


def test_each_drop_keeps_its_own_evidence():
    got = drops_summary(three_drops())
    assert [(d["index"], d["mode"], d["victim"], d["scheduled_s"], d["at_s"]) for d in got] == [
        (0, "rst", "victim", 3.0, 3.001), (1, "fin", "victim2", 3.4, 3.402), (2, "rst", "victim", 4.2, 4.2)]
    assert [d["evidence_at_s"] for d in got] == [3.02, 3.43, 4.25]
    assert drop_problems(got, 0.5) == []


def test_a_run_of_one_drop_has_no_per_drop_summary():
    assert drops_summary(history()) == []


def test_unproven_late_and_never_started_drops_are_named():
    unproven = three_drops([started(2, 4.2), {"t_s": 9.0, "type": "drop", "event": "no_evidence", "index": 2,
                                              "mode": "rst", "reason": "no server-side evidence within 5.0s"}])
    assert drop_problems(drops_summary(unproven), 0.5) == [
        "drop 2 (rst on victim, planned at 4.2 s) unproven: no server-side evidence within 5.0s"]
    late = drop_problems(drops_summary(three_drops([started(2, 5.0), proven(2, 5.1)])), 0.5)
    assert late == ["drop 2 (rst on victim, planned at 4.2 s) began 0.80 s late (limit 0.5 s)"]
    never = three_drops([{"t_s": 4.2, "type": "drop", "event": "not_started", "index": 2, "mode": "rst",
                          "reason": "the victim could not log on again before its drop: timed out"}])
    assert drop_problems(drops_summary(never), 0.5) == [
        "drop 2 (rst on victim, planned at 4.2 s) never started: the victim could not log on again "
        "before its drop: timed out"]


def several(third=None, **kw):
    # the one-drop history's start and evidence replaced by three drops' own
    ev = [e for e in history(**kw) if e.get("type") != "drop"]
    return ev + three_drops(third)


def test_the_verdict_passes_only_with_every_drop_proven():
    v = verdict(several(), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "pass" and v["reason"] == "all bounds held; 3 drops (fin, rst) proven", v["reason"]
    assert [d["index"] for d in v["drops"]] == [0, 1, 2] and v["drop"]["at_s"] == 3.001
    v = verdict(several([started(2, 4.2)]), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "error" and "drop 2 (rst on victim, planned at 4.2 s) unproven" in v["reason"]


def test_a_bound_violated_fails_whatever_the_drops():
    v = verdict(several([started(2, 4.2)], fault_latency_us=400_000), Bounds(), ["smb_echo"], "rst")
    assert v["verdict"] == "fail" and len(v["drops"]) == 3
