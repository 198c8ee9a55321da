"""What a violation waited on, on hand-written histories: the breaks sent to the victim (from
the capture, or the victim's own record) and the server's tables. Pure."""

from harness.checkers.ops import Op, operations
from harness.checkers.waits import explain, waited_on

SV = "STATUS_SHARING_VIOLATION: A file cannot be opened"
HELD = "nbth-held-1-x.dat"
ACCESS = {"probe": "smb_contend", "phase": "fault", "stat": "time_to_access",
          "observed_us": None, "limit_us": 8_000_000}
VICTIM = {"t_s": -0.1, "type": "client", "role": "victim", "local": "10.0.0.11:40000"}
HOLDING = {"t_s": -0.1, "type": "holding", "holds": "batch_oplock", "file": HELD}


def op(t, outcome="ok", latency_s=0.005, error=None, probe="smb_contend", phase="fault"):
    latency_us = None if latency_s is None else latency_s * 1e6
    return Op("c1", "healthy", probe, int(t * 100), phase, t, outcome, latency_us, error)


def tables(t_s, victim_open=True, when="fault"):
    opens = [{"file": HELD, "pid": "7", "victim": True, "share": "R", "access": "RW",
              "oplock": "BATCH", "lease": None}] if victim_open else []
    return {"t_s": t_s, "type": "server_tables", "available": True, "when": when,
            "victim_pids": ["7"], "opens": opens, "locks": [], "sessions": 2}


def brk(sent_s, tcp_acked_s=None, acked_s=None, retransmits=0):
    return {"t_s": sent_s, "type": "victim_break", "sent_s": sent_s, "kind": "oplock",
            "to": "none", "key": "00" * 16, "retransmits": retransmits,
            "tcp_acked_s": tcp_acked_s, "acked_s": acked_s, "answered_s": None}


CAPTURED = {"t_s": 30.0, "type": "victim_breaks", "captured": True, "count": 1}


def test_a_timed_out_open_behind_a_break_never_acknowledged_and_the_victims_open():
    """The issue's example: the break reached the victim's TCP, never its answer; the victim's
    open still stood at the last sample inside the wait."""
    events = [VICTIM, HOLDING, tables(-0.05, when="before"), tables(2.0, when="drop"),
              brk(3.01, tcp_acked_s=3.02), CAPTURED, tables(12.0), tables(25.1), tables(40.0, False)]
    ops = [op(3.0, "info", 10.0, "timed out"), op(13.0, "fail", 0.01, SV)]
    line = waited_on(ACCESS, events, ops, 2.0)
    assert line == (
        "smb_contend waited 10.0 s (timed out), no access in the run: an oplock break (to none) "
        "was sent to the victim at 1.01 s after the drop; its TCP took the bytes but it never "
        "acknowledged the break; the victim's open (share R, BATCH oplock) stood until at least "
        "23.10 s after the drop and was gone by 38.00 s after the drop (server's tables)")
    # access at 20 s: the window ends there, the open still standing
    line = waited_on({**ACCESS, "observed_us": 18_000_000}, events, ops, 2.0)
    assert line.startswith("smb_contend waited 10.0 s (timed out), access 18.0 s after the drop:")
    assert line.endswith("the victim's open (share R, BATCH oplock) still stood at 10.00 s after "
                         "the drop (server's tables)")


def test_a_wait_with_only_the_sample_before_the_drop_says_so():
    """A run whose victim holds nothing samples the tables before its start and after its end:
    a wait that ended in between knows only the sample before the drop (never "-1.64 s after
    the drop")."""
    wait = {"probe": "smb_logon", "phase": "recovery", "stat": "p99", "observed_us": 363_798,
            "limit_us": 300_000}
    events = [VICTIM, tables(-0.1, when="before"), tables(9.0, False, when="end")]
    line = waited_on(wait, events, [op(3.0, "ok", 0.364, probe="smb_logon", phase="recovery")],
                     1.54)
    assert line.endswith("the victim's open (share R, BATCH oplock) stood at 1.64 s before the "
                         "drop, the last sample by then (server's tables)"), line
    assert "-" not in line.split(":", 1)[1]


def test_a_break_lost_on_the_wire_and_an_open_gone_by_the_next_sample():
    events = [VICTIM, HOLDING, tables(2.0), brk(2.5, retransmits=3), CAPTURED, tables(4.0),
              tables(6.0, False)]
    line = waited_on({**ACCESS, "observed_us": 9_500_000}, events, [op(2.5, "ok", 9.0)], 2.0)
    assert "was sent to the victim at 0.50 s after the drop and never acknowledged, not even by " \
           "its TCP (retransmitted 3 times)" in line
    assert "the victim's open (share R, BATCH oplock) stood until at least 2.00 s after the drop " \
           "and was gone by 4.00 s after the drop" in line


def test_a_break_acknowledged_in_time_and_the_open_gone():
    events = [VICTIM, HOLDING, tables(2.0), brk(2.5, 2.51, 2.6), CAPTURED, tables(4.0, False)]
    line = waited_on({**ACCESS, "observed_us": 3_500_000}, events, [op(2.5, "ok", 3.0)], 2.0)
    assert line.startswith("smb_contend waited 3.0 s (then granted), access 3.5 s after the drop")
    assert "acknowledged 0.10 s later" in line
    assert "stood until at least 0.00 s after the drop and was gone by 2.00 s after" in line
    # gone already before the drop's sample: only when it was gone
    events = [VICTIM, HOLDING, tables(-0.1, when="before"), CAPTURED, tables(2.1, False)]
    line = waited_on({**ACCESS, "observed_us": 3_500_000}, events, [op(2.5, "ok", 3.0)], 2.0)
    assert line.endswith("the victim's open of the held file was gone by 0.10 s after the drop "
                         "(server's tables)")


def test_no_break_sent_and_no_capture_are_told_apart():
    events = [VICTIM, HOLDING, CAPTURED]
    assert "the server sent the victim no break" in waited_on(ACCESS, events, [op(2.5)], 2.0)
    events = [VICTIM, HOLDING, {**CAPTURED, "captured": False}]
    assert "no capture of the victim's flow" in waited_on(ACCESS, events, [op(2.5)], 2.0)


def test_the_victims_own_record_of_a_break_when_nothing_was_captured():
    events = [VICTIM, HOLDING,
              {"t_s": 3.0, "type": "drop", "event": "break_received", "kind": "oplock"}]
    line = waited_on(ACCESS, events, [op(2.9, "ok", 35.0)], 2.0)
    assert "the victim recorded an oplock break received at 1.00 s after the drop and not " \
           "acknowledged by then" in line


def test_a_latency_bound_names_the_slowest_operation_of_its_probe_in_the_phase():
    v = {"probe": "smb_logon", "phase": "fault", "stat": "p99", "observed_us": 3e6,
         "limit_us": 1e6}
    events = [VICTIM, CAPTURED, tables(3.0, False)]
    ops = [op(2.1, latency_s=0.01, probe="smb_logon"), op(2.2, latency_s=3.0, probe="smb_logon"),
           op(0.5, latency_s=9.0, probe="smb_logon", phase="baseline")]
    assert waited_on(v, events, ops, 2.0) == (
        "smb_logon waited 3.0 s (then granted): the server sent the victim no break; the "
        "server's tables showed none of the victim's entries at 1.00 s after the drop")


def test_only_runs_that_gathered_the_victims_side_get_the_field():
    v = {**ACCESS}
    assert explain([v], [VICTIM], [op(1.0)], None) == [v]  # nothing gathered (several victims)
    [got] = explain([v], [VICTIM, CAPTURED], [op(1.0)], None)
    assert got["waited_on"].startswith("smb_contend waited 0.0 s (then granted)")
    idle = {"probe": "idle", "phase": "fault", "stat": "errors", "observed": 1, "limit": 0}
    assert explain([idle], [VICTIM, CAPTURED], [op(1.0)], None) == [idle]  # no operation of its own


def test_from_a_history_through_the_operations():
    events = [VICTIM, CAPTURED,
              {"t_s": 2.5, "type": "invoke", "process": "c1", "probe": "smb_contend", "seq": 1,
               "role": "healthy", "phase": "fault", "intended_s": 2.5},
              {"t_s": 30.0, "type": "fail", "process": "c1", "probe": "smb_contend", "seq": 1,
               "latency_us": 27.5e6, "error": SV}]
    line = waited_on(ACCESS, events, operations(events), 2.0)
    assert line.startswith("smb_contend waited 27.5 s (then STATUS_SHARING_VIOLATION)")


def test_an_attempt_outstanding_since_before_the_drop_stands_for_a_never():
    events = [VICTIM, HOLDING, CAPTURED]  # the history ends at 30.0 s
    ops = [op(1.0, "ok", 0.01), op(1.5, "stall", None), op(2.5, "info", 0.0, "not sent: waiting")]
    line = waited_on(ACCESS, events, ops, 2.0)
    assert line.startswith("smb_contend waited 28.5 s (never answered)"), line  # to the end
