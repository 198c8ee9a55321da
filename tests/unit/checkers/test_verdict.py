"""Verdicts from small hand-written histories."""

from harness.checkers.bounds import Bound, Bounds, check_bounds
import pytest

from harness.checkers.ops import STALL, Op, host_stall_overlap_us, operations, probe_table
from harness.checkers.verdict import verdict
from harness.stats import percentile, summarize_us


def test_percentile_nearest_rank():
    assert percentile([], 99) is None
    assert percentile([5], 50) == 5
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile([3, 1, 2], 100) == 3


def test_summarize():
    assert summarize_us([1000, 2000, 3000], errors=1) == {
        "count": 4, "errors": 1, "p50_us": 2000, "p99_us": 3000, "max_us": 3000,
        "p99_basis": "max"}


def test_p99_basis_says_when_the_p99_is_the_max():
    # 99 samples: the nearest-rank p99 is the largest, so the row says "max"
    row = summarize_us(list(range(1, 100)), errors=5)
    assert row["p99_us"] == row["max_us"] == 99 and row["p99_basis"] == "max"
    # 100 samples: a real p99 (the 99th value), not the max
    row = summarize_us(list(range(1, 101)), errors=0)
    assert (row["p99_us"], row["max_us"], row["p99_basis"]) == (99, 100, "p99")
    # errors do not count as samples of the latency distribution
    assert summarize_us([7] * 99, errors=50)["p99_basis"] == "max"
    assert summarize_us([], errors=3)["p99_basis"] is None


def test_a_violation_of_the_p99_bound_by_a_max_says_so():
    table = {"smb_echo": {
        "baseline": summarize_us([1000] * 30, 0),
        "fault": summarize_us([1000] * 29 + [400_000], 0),
        "recovery": summarize_us([1000] * 200 + [400_000] * 3, 0)}}
    violations, problems = check_bounds(table, Bounds(), ["smb_echo"])
    assert not problems
    p99 = {v["phase"]: v for v in violations if v["stat"] == "p99"}
    assert p99["fault"]["basis"] == "max"          # 30 samples: it is the max that broke it
    assert "basis" not in p99["recovery"]           # 203 samples: a real p99


def op(process, probe, seq, phase, latency_us, outcome="ok", role="healthy"):
    t = {"warmup": 0.1, "baseline": 1.5, "fault": 3.5, "recovery": 6.5}[phase] + seq * 0.01
    inv = {"t_s": t, "type": "invoke", "process": process, "probe": probe, "seq": seq,
           "phase": phase, "intended_s": t, "role": role}
    if outcome is None:
        return [inv]
    done = {"t_s": t + (latency_us or 0) / 1e6, "type": outcome, "process": process, "probe": probe,
            "seq": seq, "role": role, "latency_us": latency_us, "error": None if outcome == "ok" else "x"}
    return [inv, done]


def history(fault_latency_us=1000, recovery_latency_us=1000, extra=(), drop=True, evidence=True):
    ev = []
    seq = 0
    for phase, lat in (("baseline", 1000), ("fault", fault_latency_us), ("recovery", recovery_latency_us)):
        for _ in range(20):
            ev += op("c1", "smb_echo", seq, phase, lat)
            seq += 1
    if drop:
        ev.append({"t_s": 3.0, "type": "drop", "event": "start", "mode": "rst", "process": "victim"})
        if evidence:
            ev.append({"t_s": 3.01, "type": "drop", "event": "evidence", "mode": "rst",
                       "evidence": {"server_socket_after": "gone"}, "process": "runner"})
    return ev + list(extra)


def test_pairs_invocations_and_marks_stalls():
    ops = operations(op("c1", "smb_echo", 0, "fault", 5) + op("c1", "smb_echo", 1, "fault", None, outcome=None))
    assert [o.outcome for o in ops] == ["ok", STALL]


def test_same_seq_on_two_processes_are_two_operations():
    ops = operations(op("c1", "smb_echo", 0, "fault", 5) + op("c2", "smb_echo", 0, "fault", 7))
    assert len(ops) == 2


def test_victim_operations_are_not_judged():
    table = probe_table(operations(op("victim", "smb_echo", 0, "fault", 9, role="victim")))
    assert table == {}


def test_healthy_history_passes():
    v = verdict(history(), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "pass", v["reason"]
    assert v["probes"]["smb_echo"]["fault"]["count"] == 20


def test_fault_latency_over_bound_fails_and_names_the_violation():
    v = verdict(history(fault_latency_us=400_000), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "fail"
    stats = {(x["probe"], x["phase"], x["stat"]) for x in v["violations"]}
    assert ("smb_echo", "fault", "p99") in stats and ("smb_echo", "fault", "max") in stats
    p99 = next(x for x in v["violations"] if x["stat"] == "p99")
    assert p99["observed_us"] == 400_000 and p99["limit_us"] == 100_000


def test_limit_scales_with_baseline():
    b = Bound(p99_floor_ms=1, p99_factor=5, max_floor_ms=1, max_factor=10)
    assert b.limits_us(20_000) == {"p99_us": 100_000, "max_us": 200_000}
    assert b.limits_us(10) == {"p99_us": 1000, "max_us": 1000}


def test_a_stall_is_an_error_count_violation():
    stalled = op("c1", "smb_echo", 999, "fault", None, outcome=None)
    v = verdict(history(extra=stalled), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "fail"
    assert v["violations"][0]["stat"] == "errors" and v["violations"][0]["observed"] == 1


def test_timeout_in_recovery_fails():
    timed_out = op("c1", "smb_echo", 999, "recovery", None, outcome="info")
    assert verdict(history(extra=timed_out), Bounds(), ["smb_echo"], "rst")["verdict"] == "fail"


def test_missing_evidence_is_error_never_pass():
    v = verdict(history(evidence=False), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "error" and "unproven" in v["reason"]
    v = verdict(history(drop=False), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "error" and "never started" in v["reason"]


def test_no_samples_in_a_phase_is_error():
    ev = [e for e in history() if e.get("phase") != "recovery" and not (e.get("seq", 0) >= 40)]
    v = verdict(ev, Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "error" and "no samples in phase recovery" in v["reason"]


def test_run_error_is_error():
    v = verdict(history(extra=[{"t_s": 0, "type": "error", "error": "c1: login failed"}]),
                Bounds(), ["smb_echo"], "rst")
    assert v["verdict"] == "error" and "login failed" in v["reason"]


def test_per_probe_bound_overrides_default():
    bounds = Bounds(per_probe={"smb_echo": Bound(p99_floor_ms=500, max_floor_ms=500)})
    table = probe_table(operations(history(fault_latency_us=400_000)))
    violations, problems = check_bounds(table, bounds, ["smb_echo"])
    assert violations == [] and problems == []


def test_a_machine_stall_is_taken_off_the_samples_it_overlaps():
    slow = op("c1", "smb_echo", 500, "fault", 400_000)  # intended 3.5+5.0=8.5s, 400 ms
    canary = [{"t_s": 8.85, "type": "canary", "late_us": 350_000.0, "process": "canary"}]
    v = verdict(history(extra=slow + canary), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "pass", v["violations"]
    fault = v["probes"]["smb_echo"]["fault"]
    assert fault["host_stall_corrected"] == 1 and fault["max_us"] == 50_000  # 400 ms - 350 ms
    assert v["host_stalls"] == {"count": 1, "worst_us": 350_000}
    assert v["probes"]["smb_echo"]["baseline"]["host_stall_corrected"] == 0


def test_a_server_freeze_that_contains_a_machine_hiccup_still_fails():
    frozen = op("c1", "smb_echo", 500, "fault", 1_000_000)  # 8.5 s .. 9.5 s
    hiccup = [{"t_s": 9.0, "type": "canary", "late_us": 30_000.0, "process": "canary"}]
    v = verdict(history(extra=frozen + hiccup), Bounds(), ["smb_echo"], expect_drop="rst")
    assert v["verdict"] == "fail"
    assert v["probes"]["smb_echo"]["fault"]["max_us"] == 970_000


def test_overlap_is_clipped_to_the_operation():
    sample = Op("c1", "healthy", "smb_echo", 1, "fault", intended_s=10.0, outcome="ok", latency_us=100_000)
    assert host_stall_overlap_us(sample, [(9.0, 10.05)]) == pytest.approx(50_000)
    assert host_stall_overlap_us(sample, [(9.0, 11.0)]) == pytest.approx(100_000)
    assert host_stall_overlap_us(sample, [(10.02, 10.03), (10.05, 10.06)]) == pytest.approx(20_000)
    assert host_stall_overlap_us(sample, [(10.2, 10.3)]) == 0


def test_a_server_stall_is_not_excused_without_a_canary_stall():
    slow = op("c1", "smb_echo", 500, "fault", 400_000)
    canary_far_away = [{"t_s": 1.0, "type": "canary", "late_us": 300_000.0}]
    assert verdict(history(extra=slow + canary_far_away), Bounds(), ["smb_echo"], "rst")["verdict"] == "fail"
    small = [{"t_s": 8.7, "type": "canary", "late_us": 10_000.0}]  # under the threshold
    assert verdict(history(extra=slow + small), Bounds(), ["smb_echo"], "rst")["verdict"] == "fail"
    big = [{"t_s": 8.7, "type": "canary", "late_us": 300_000.0}]
    assert verdict(history(extra=slow + big), Bounds(), ["smb_echo"], "rst", host_stall_us=None)["verdict"] == "fail"


def test_probe_rows_carry_a_mergeable_histogram_of_the_corrected_latencies():
    from harness.checkers import histograms

    ops = [Op("c1", "healthy", "smb_echo", i, "baseline", i * 0.1, "ok", 1000.0 * (i + 1))
           for i in range(5)] + [Op("c1", "healthy", "smb_echo", 9, "baseline", 1.0, "info", None)]
    row = probe_table(ops)["smb_echo"]["baseline"]
    h = histograms.decode(row["hdr"])
    assert h.get_total_count() == 5  # the timeout is an error, not a sample
    assert abs(h.get_max_value() - 5000) <= 5 and abs(h.get_min_value() - 1000) <= 1
    both = histograms.merge([row["hdr"], row["hdr"]])
    assert both.get_total_count() == 10


def test_histograms_clamp_out_of_range_values_instead_of_losing_them():
    from harness.checkers import histograms

    h = histograms.of_latencies_us([0.2, 90e6])
    assert h.get_total_count() == 2
    assert h.get_max_value() >= 59_000_000


def test_decoding_garbage_is_a_value_error():
    import pytest

    from harness.checkers import histograms

    with pytest.raises(ValueError):
        histograms.decode("not a histogram")


def test_idle_sessions_the_server_closed_after_warmup_are_violations():
    from harness.checkers.verdict import idle_losses

    events = [{"type": "idle_lost", "phase": "warmup", "session": 1},
              {"type": "idle_lost", "phase": "fault", "session": 2},
              {"type": "idle_lost", "phase": "fault", "session": 3}]
    assert idle_losses(events) == [{"probe": "idle", "phase": "fault", "stat": "errors",
                                    "observed_us": None, "limit_us": None, "observed": 2,
                                    "limit": 0}]


def _drop_begun_at(history, begun_s):
    """``history`` with its drop's start (scheduled at 3.0 s) moved to ``begun_s``."""
    return [{**e, "t_s": begun_s} if e.get("type") == "drop" and e.get("event") == "start" else e
            for e in history]


@pytest.mark.parametrize("begun_s, verdict_was", [(3.0, "pass"), (3.45, "pass"), (3.6, "error"),
                                                  (6.2, "error")])
def test_a_drop_that_began_late_is_an_error_not_a_pass(begun_s, verdict_was):
    from tests.support import report_cases as rc

    sc = rc.scenario("healthy")
    result = verdict(_drop_begun_at(rc.healthy_history(), begun_s), sc.bounds, sc.probes, "rst")
    assert result.verdict == verdict_was, result.reason
    assert result.drop.scheduled_s == 3.0 and result.drop.at_s == begun_s
    if verdict_was == "error":
        late_s = begun_s - 3.0
        assert result.reason == (f"drop rst began {late_s:.2f} s late (scheduled at 3.00 s, began at "
                                 f"{begun_s:.2f} s; limit 0.5 s): the fault phase did not hold it "
                                 "(an overloaded machine?)")


def test_a_late_drop_still_fails_on_a_stall_and_says_it_was_late():
    from tests.support import report_cases as rc

    sc = rc.scenario("failing")
    result = verdict(_drop_begun_at(rc.failing_history(), 4.0), sc.bounds, sc.probes, "rst")
    assert result.verdict == "fail"
    assert result.reason.endswith("; began 1.00 s late (scheduled at 3.00 s, began at 4.00 s; "
                                  "limit 0.5 s): the fault phase did not hold it (an overloaded machine?)")


def _rw(seq, phase, ok=True, mismatch=False):
    invoke = {"type": "invoke", "process": "c1_smb_rw", "role": "healthy", "probe": "smb_rw",
              "seq": seq, "phase": phase, "t_s": seq * 0.1, "intended_s": seq * 0.1}
    done = {"type": "ok" if ok else "fail", "process": "c1_smb_rw", "role": "healthy",
            "probe": "smb_rw", "seq": seq, "phase": phase, "t_s": seq * 0.1 + 0.001,
            "latency_us": 1000.0}
    if not ok:
        done["error"] = (
            "ReadBackMismatch: read back 4608 bytes at offset 0 that differ from the 512 written"
        )
    return [invoke, done]


def test_no_samples_names_the_probe_s_most_frequent_error():
    events = [e for i, ph in enumerate(["baseline"] * 3 + ["fault"] * 3 + ["recovery"] * 3)
              for e in _rw(i, ph, ok=False)]
    result = verdict(events, Bounds(), ["smb_rw"], None, host_stall_us=None)
    assert result["verdict"] == "error"
    expected = "smb_rw: no successful baseline samples (9 x ReadBackMismatch: read back 4608"
    assert expected in result["reason"]
