"""Invocations paired with completions, and the phase each operation belongs to: the one it
was intended in, unless it was intended before the first judged phase and still outstanding
when that began. Pure, on hand-written histories."""

from harness.checkers.ops import STALL, operations, probe_table

PHASES = [["warmup", 0.0, 0.5], ["baseline", 0.5, 1.5], ["fault", 1.5, 3.0],
          ["recovery", 3.0, 4.0]]
RUN = {"t_s": -0.1, "type": "run", "event": "start", "phases": PHASES}


def op(seq, intended_s, phase, done_s=None, kind="ok", probe="nbstat"):
    inv = {"t_s": intended_s, "type": "invoke", "process": "p", "phase": phase,
           "intended_s": intended_s, "probe": probe, "seq": seq, "role": "healthy"}
    if done_s is None:
        return [inv]
    latency_us = (done_s - intended_s) * 1e6
    return [inv, {"t_s": done_s, "type": kind, "process": "p", "latency_us": latency_us,
                  "probe": probe, "seq": seq, "role": "healthy", "error": None}]


def test_a_baseline_operation_outstanding_at_the_fault_is_the_faults():
    """stop 27's lesson: an operation the fault caught must not set the baseline's p99 (and
    so the limits that judge the fault)."""
    events = [RUN, *op(0, 0.2, "warmup", 0.7), *op(1, 1.0, "baseline", 1.002),
              *op(2, 1.49, "baseline", 2.52), *op(3, 1.495, "baseline"),  # 3: a stall
              *op(4, 2.0, "fault", 3.5)]
    phases = {o.seq: o.phase for o in operations(events)}
    assert phases == {0: "warmup", 1: "baseline", 2: "fault", 3: "fault", 4: "fault"}
    assert next(o for o in operations(events) if o.seq == 3).outcome == STALL
    table = probe_table(operations(events))["nbstat"]
    assert table["baseline"]["count"] == 1 and table["baseline"]["max_us"] < 3000
    assert table["fault"]["max_us"] > 1_000_000


def test_without_the_runs_phases_each_operation_keeps_its_own():
    events = [*op(1, 1.49, "baseline", 2.52)]
    assert [o.phase for o in operations(events)] == ["baseline"]
