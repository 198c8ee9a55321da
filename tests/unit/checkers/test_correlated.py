"""The correlated-excursion rule on hand-written histories."""

import pytest

from harness.checkers.bounds import Bound, Bounds
from harness.checkers.correlated import Excursion, check_correlated, correlated_groups
from harness.checkers.verdict import verdict

PROBES = ["nbstat", "smb_echo"]
RULE = Bounds(Bound(correlated_margin_ms=5.0))  # floors stay at their defaults


def op(process, probe, seq, phase, intended_s, latency_us, sent_late_us=0.0):
    inv = {"t_s": intended_s, "type": "invoke", "process": process, "probe": probe, "seq": seq,
           "phase": phase, "intended_s": intended_s, "role": "healthy"}
    done = {"t_s": intended_s + latency_us / 1e6, "type": "ok", "process": process,
            "probe": probe, "seq": seq, "role": "healthy", "latency_us": latency_us,
            "sent_s": intended_s + sent_late_us / 1e6, "error": None}
    return [inv, done]


def history(extra=()):
    """nbstat (process nbstat) and two echo clients at 20 Hz, 400-700 us everywhere;
    baseline 1-2 s, fault 2-4.5 s, recovery 4.5-6 s; a proven rst drop at 2 s."""
    ev = []
    for process, probe, offset in (("nbstat", "nbstat", 0.0), ("c1_smb_echo", "smb_echo", 0.015),
                                   ("c2_smb_echo", "smb_echo", 0.03)):
        for seq in range(100):
            t = 1.0 + offset + seq * 0.05
            phase = "baseline" if t < 2.0 else "fault" if t < 4.5 else "recovery"
            ev += op(process, probe, seq, phase, round(t, 6), 400.0 + (seq % 4) * 100)
    ev.append({"t_s": 2.0, "type": "drop", "event": "start", "mode": "rst", "process": "victim"})
    ev.append({"t_s": 2.01, "type": "drop", "event": "evidence", "mode": "rst",
               "evidence": {"server_socket_after": "gone"}, "process": "runner"})
    return ev + list(extra)


def frozen(until_s, *sends):
    """Operations (process, probe, seq, sent_s) a server freeze releases at until_s."""
    return [e for process, probe, seq, t in sends
            for e in op(process, probe, seq, "fault", t, (until_s - t) * 1e6 + 300)]


def test_a_quiet_history_passes():
    assert verdict(history(), RULE, PROBES, "rst")["verdict"] == "pass"


def test_a_20ms_freeze_that_holds_two_processes_fails_under_the_floors():
    # a freeze from 3.002 to 3.022 s holds an nbstat sent at 3.004 and an echo at 3.010
    freeze = frozen(3.022, ("nbstat", "nbstat", 900, 3.004), ("c1_smb_echo", "smb_echo", 900, 3.010))
    result = verdict(history(freeze), RULE, PROBES, "rst")
    assert result["verdict"] == "fail"
    [v] = result["violations"]
    assert (v["stat"], v["phase"], v["observed"], v["limit"]) == ("correlated", "fault", 1, 0)
    assert v["streams"] == ["c1_smb_echo", "nbstat"] and v["at_s"] == pytest.approx(3.010)
    assert v["probe"] == "nbstat" and v["observed_us"] == pytest.approx(18_300)
    assert v["limit_us"] == 5_700  # baseline max 700 us + 5 ms
    assert verdict(history(freeze), Bounds(), PROBES, "rst")["verdict"] == "pass"  # floors alone: missed


def test_one_process_late_alone_is_not_correlated():
    lone = op("c1_smb_echo", "smb_echo", 900, "fault", 3.010, 25_000)
    assert verdict(history(lone), RULE, PROBES, "rst")["verdict"] == "pass"


def test_excursions_of_two_processes_that_do_not_overlap_are_not_correlated():
    apart = op("nbstat", "nbstat", 900, "fault", 3.004, 8_000) + \
        op("c1_smb_echo", "smb_echo", 900, "fault", 3.020, 8_000)  # 3.004-3.012, 3.020-3.028
    assert verdict(history(apart), RULE, PROBES, "rst")["verdict"] == "pass"


def test_overlapping_but_under_the_margin_is_not_an_excursion():
    small = frozen(3.0062, ("nbstat", "nbstat", 900, 3.001), ("c1_smb_echo", "smb_echo", 900, 3.001))
    assert verdict(history(small), RULE, PROBES, "rst")["verdict"] == "pass"  # 5.5 ms < 700 us + 5 ms


def test_the_machine_stalls_the_canary_saw_are_taken_off_first():
    freeze = frozen(3.022, ("nbstat", "nbstat", 900, 3.004), ("c1_smb_echo", "smb_echo", 900, 3.010))
    canary = [{"t_s": 3.0225, "type": "canary", "late_us": 21_000.0, "process": "canary"}]
    assert verdict(history(freeze + canary), RULE, PROBES, "rst")["verdict"] == "pass"


def test_a_group_in_flight_while_a_canary_woke_late_is_excused():
    freeze = frozen(3.022, ("nbstat", "nbstat", 900, 3.004), ("c1_smb_echo", "smb_echo", 900, 3.010))
    late = [{"t_s": 3.015, "type": "canary", "late_us": 6_000.0, "process": "canary_normal"}]
    assert verdict(history(freeze + late), RULE, PROBES, "rst")["verdict"] == "pass"
    elsewhere = [{"t_s": 3.5, "type": "canary", "late_us": 6_000.0, "process": "canary_normal"}]
    assert verdict(history(freeze + elsewhere), RULE, PROBES, "rst")["verdict"] == "fail"
    off = verdict(history(freeze + late), RULE, PROBES, "rst", host_stall_us=None)  # correction off
    assert off["verdict"] == "fail" and off["violations"][0]["excused"] == 0


def test_three_streams_needed_when_asked():
    freeze = frozen(3.022, ("nbstat", "nbstat", 900, 3.004), ("c1_smb_echo", "smb_echo", 900, 3.010))
    three = Bounds(Bound(correlated_margin_ms=5.0, correlated_streams=3))
    assert verdict(history(freeze), three, PROBES, "rst")["verdict"] == "pass"
    more = freeze + frozen(3.022, ("c2_smb_echo", "smb_echo", 900, 3.012))
    assert verdict(history(more), three, PROBES, "rst")["verdict"] == "fail"


def test_a_probe_without_a_margin_is_not_judged_by_the_rule():
    freeze = frozen(3.022, ("nbstat", "nbstat", 900, 3.004), ("c1_smb_echo", "smb_echo", 900, 3.010))
    echo_only = Bounds(Bound(), per_probe={"smb_echo": Bound(correlated_margin_ms=5.0)})
    assert verdict(history(freeze), echo_only, PROBES, "rst")["verdict"] == "pass"


def test_groups_take_each_excursion_once_and_keep_a_common_instant():
    def e(process, sent, end):
        return Excursion(process, "p", "fault", sent, end, 10_000.0, 1_000.0)

    excs = [e("a", 0.0, 0.02), e("b", 0.01, 0.03), e("c", 0.025, 0.04), e("d", 0.035, 0.05)]
    groups = correlated_groups(excs, 2)
    assert [[x.process for x in g] for g in groups] == [["a", "b"], ["c", "d"]]
    assert correlated_groups([e("a", 0.0, 0.02), e("a", 0.01, 0.03)], 2) == []  # one process
    [v] = check_correlated(excs, 2)
    assert v["observed"] == 2 and v["streams"] == ["a", "b"] and v["excused"] == 0
    [v] = check_correlated(excs, 2, late_windows=[(0.005, 0.006)])  # during a and b only
    assert (v["observed"], v["excused"], v["streams"]) == (1, 1, ["c", "d"])
    assert check_correlated(excs, 0) == []


def test_correlated_bound_keys_are_validated():
    with pytest.raises(ValueError):
        Bound(correlated_streams=1.5)
    with pytest.raises(ValueError):
        Bound(correlated_margin_ms=float("nan"))

