"""Holdings: the scenario's [victim] table, the contended probe's registry entry, and the
time-to-access checker on hand-written histories. Pure."""

import pytest

from harness.checkers.access import access_line, access_summary, attempt_status, status_sequence
from harness.checkers.bounds import Bounds
from harness.checkers.ops import Op, operations
from harness.checkers.verdict import verdict
from harness.clients.holdings import HOLDINGS, held_file_name, holding_problem
from harness.errors import BadInput
from harness.probes import PROBES
from harness.scenario.files import resolve
from harness.scenario.model import from_dict

DROP = {"mode": "rst"}


def op(t, outcome="ok", error=None, latency_ms=5.0):
    return Op("c1_smb_contend", "healthy", "smb_contend", int(t * 10), "fault", t, outcome,
              latency_ms * 1000 if outcome != "stall" else None, error)


def test_status_of_each_attempt():
    assert attempt_status(op(1)) == "ok"
    assert attempt_status(op(1, "fail", "STATUS_SHARING_VIOLATION: A file cannot be opened")) == \
        "STATUS_SHARING_VIOLATION"
    assert attempt_status(op(1, "info", "timeout: timed out")) == "timeout"
    assert attempt_status(op(1, "info", "not sent: blocked by an earlier operation")) == "not_sent"
    assert attempt_status(op(1, "stall")) == "stall"
    assert attempt_status(op(1, "fail", "ConnectionResetError")) == "error"


def test_sequence_and_time_to_access():
    ops = [op(2.5, "fail", "STATUS_SHARING_VIOLATION: x"), op(2.6, "fail", "STATUS_SHARING_VIOLATION: x"),
           op(2.7, "info", "timeout: t"), op(3.0, latency_ms=400), op(3.1)]
    assert [s["status"] for s in status_sequence(ops)] == ["STATUS_SHARING_VIOLATION", "timeout", "ok"]
    summary, violations = access_summary(ops, 2.5, 2.0, "deny_write")
    assert summary["time_to_access_s"] == pytest.approx(0.9)  # 3.0 + 0.4 - 2.5
    assert summary["statuses"][0] == {"status": "STATUS_SHARING_VIOLATION", "count": 2,
                                      "first_s": 2.5, "last_s": 2.6, "longest_s": 0.005}
    assert violations == []
    assert "got the file 0.900 s after the drop" in access_line(summary)
    _, late = access_summary(ops, 2.5, 0.5, "deny_write")
    assert late[0]["stat"] == "time_to_access" and late[0]["observed_us"] == 900_000


def test_never_got_access_is_a_violation_and_no_bound_none():
    ops = [op(2.5 + i / 10, "fail", "STATUS_FILE_LOCK_CONFLICT: y") for i in range(5)]
    summary, violations = access_summary(ops, 2.5, 3.0, "byte_range_lock")
    assert summary["time_to_access_s"] is None and violations[0]["observed_us"] is None
    assert access_summary(ops, 2.5, None)[1] == []
    assert access_summary([], 2.5, 1.0) == (None, [])


def _events():
    ev = [{"type": "drop", "event": "start", "mode": "rst", "t_s": 2.5},
          {"type": "drop", "event": "evidence", "mode": "rst", "t_s": 2.6, "evidence": {"x": 1}},
          {"type": "holding", "process": "runner", "t_s": -0.3, "holds": "deny_write", "file": "f"}]
    seq = 0
    for probe, phases in (("smb_echo", ("baseline", "fault", "recovery")),
                          ("smb_contend", ("fault", "recovery"))):
        for phase, t in (("baseline", 1.0), ("fault", 3.0), ("recovery", 5.0)):
            if phase not in phases:
                continue
            seq += 1
            ev.append({"type": "invoke", "process": f"c1_{probe}", "probe": probe, "seq": seq,
                       "role": "healthy", "phase": phase, "intended_s": t, "t_s": t})
            bad = probe == "smb_contend" and phase == "fault"
            ev.append({"type": "fail" if bad else "ok", "process": f"c1_{probe}", "probe": probe,
                       "seq": seq, "role": "healthy", "t_s": t + 0.001, "latency_us": 1000,
                       "error": "STATUS_SHARING_VIOLATION: z" if bad else None})
    return ev


def test_verdict_judges_the_contended_probe_by_access_only():
    events = _events()
    assert len(operations(events)) == 5
    access = {"probe": "smb_contend", "holds": "deny_write", "max_wait_s": 5.0}
    r = verdict(events, Bounds(), ["smb_echo", "smb_contend"], "rst", host_stall_us=None, access=access)
    assert r["verdict"] == "pass", r["reason"]  # its sharing violations are not latency errors
    assert r["access"]["time_to_access_s"] == pytest.approx(2.501)
    assert r["access"]["granted"] == {"holds": "deny_write", "file": "f"}
    r = verdict(events, Bounds(), ["smb_echo", "smb_contend"], "rst", host_stall_us=None,
                access={**access, "max_wait_s": 1.0})
    assert r["verdict"] == "fail" and "time_to_access" in r["reason"]


def _scenario(**kw):
    return {"name": "h", "drop": DROP, **kw}


def test_victim_table_parses_and_round_trips():
    s = from_dict(_scenario(victim={"holds": "lease_rwh", "max_wait_s": 2,
                                    "max_wait_s_by_target": {"docker": 5}},
                            probes={"smb_contend": 10}), "t")
    assert s.victim.holds == "lease_rwh" and s.victim.max_wait_for("local") == 2.0
    assert s.victim.max_wait_for("docker") == 5.0
    # by the target's kind when its name is more than that (a suite, an option, a URL's label)
    assert s.victim.max_wait_for("docker:trixie", "docker") == 5.0
    assert s.victim.max_wait_for("lab-2019", "remote") == 2.0
    again = s.with_overrides({"victim.max_wait_s": "7"})
    assert again.victim.max_wait_s == 7.0 and again.victim.holds == "lease_rwh"


@pytest.mark.parametrize("kw, words", [
    ({"probes": {"smb_contend": 5}}, "smb_contend needs a holding"),
    ({"victim": {"holds": "nope"}}, "unknown holding 'nope'"),
    ({"victim": {"holds": "lease_rwh"}, "dialect": "smb1"}, "needs SMB 2.1"),
    ({"victim": {"holds": "batch_oplock", "max_wait_s": -1}}, "max_wait_s"),
    ({"victim": {"holds": "batch_oplock", "extra": 1}}, "unknown key(s) extra"),
    ({"victim": "batch_oplock"}, "[victim] must be a table"),
    ({"victim": {"holds": "durable_v2", "durable_timeout_ms": 400_000}}, "durable_timeout_ms"),
])
def test_bad_victim_tables_are_one_line_bad_input(kw, words):
    with pytest.raises(BadInput) as err:
        from_dict(_scenario(**kw), "t.toml")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_holdings_table_and_dialects():
    assert set(HOLDINGS) == {"batch_oplock", "exclusive_oplock", "lease_rwh", "byte_range_lock",
                             "deny_write", "durable_v1", "durable_v2"}
    assert holding_problem("durable_v2", "2.1") and not holding_problem("durable_v2", "smb3")
    assert not holding_problem("lease_rwh", "smb2")  # smb2 is SMB 2.1
    assert held_file_name(42) == "nbth-held-42.dat"
    assert held_file_name(42, "nbth-42-events-ab_c9") == "nbth-held-42-abc9.dat"
    assert held_file_name(42, "nbth-42-events-ab_c9", 2) == "nbth-held-42-abc9-v2.dat"  # victim 2
    kind = PROBES["smb_contend"]
    assert kind.default_rate_hz == 0 and kind.from_drop and kind.judged_by_access


def test_holdings_group_is_opt_in_and_selectable_by_name():
    default = {s.name for s in resolve([])}
    group = resolve(["holdings"])
    assert not default & {s.name for s in group}
    assert {s.victim.holds for s in group} == set(HOLDINGS)
    assert {s.drop.mode for s in group} == {"rst", "blackhole", "pause", "reclaim"}
    grid = [s for s in group if s.drop.mode != "reclaim"]
    assert len(grid) == 3 * len(HOLDINGS)  # every holding with every transport-loss drop
    # a reclaim needs a durable handle: one scenario per durable holding
    assert sorted(s.victim.holds for s in group if s.drop.mode == "reclaim") == [
        "durable_v1", "durable_v2"]
    assert all(s.drop.params == {"after": "kill"} for s in group if s.drop.mode == "pause")
    assert resolve(["holdings/deny_write-rst"])[0].victim.holds == "deny_write"


def test_a_contended_probe_with_zero_attempts_is_an_error_not_a_pass():
    """Hand-written history: the drop proven, smb_echo fine, smb_contend never sent once."""
    events = [e for e in _events() if e.get("probe") != "smb_contend"]
    access = {"probe": "smb_contend", "holds": "deny_write", "max_wait_s": 5.0}
    r = verdict(events, Bounds(), ["smb_echo", "smb_contend"], "rst", host_stall_us=None, access=access)
    assert r["verdict"] == "error", r["reason"]
    assert "smb_contend made 0 attempts" in r["reason"]
