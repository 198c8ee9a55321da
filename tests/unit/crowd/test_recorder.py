"""A crowd worker's recorder: histograms per phase x operation, errors, and operations in
flight at the report counted as unanswered errors of the phase they started in."""

from harness.checkers import histograms
from harness.crowd.recorder import UNANSWERED, Recorder


def test_operations_go_to_the_phase_they_started_in():
    r = Recorder()
    r.set_phase("baseline")
    a = r.begin("echo")
    r.set_phase("fault")
    b = r.begin("echo")
    r.set_phase("recovery")
    r.end(b, 1500.0)  # started in fault, ended in recovery: fault's
    r.end(r.begin("echo"), 0, "echo: TimeoutError: timed out")
    r.set_phase("end")
    r.end(a, 2500.0)  # started in baseline, ended after the run: baseline's
    report = r.report()
    assert set(report) == {"baseline", "fault", "recovery"}
    base = report["baseline"]["echo"]
    assert (base["count"], base["errors"], base["top_error"]) == (1, 0, None)
    fault = report["fault"]["echo"]
    assert (fault["count"], fault["errors"], fault["top_error"]) == (1, 0, None)
    h = histograms.decode(fault["hdr"])
    assert h.get_total_count() == 1 and 1490 <= h.get_max_value() <= 1510
    rec = report["recovery"]["echo"]
    assert (rec["count"], rec["errors"], rec["hdr"]) == (1, 1, None)
    assert rec["top_error"] == "1 x echo: TimeoutError: timed out"


def test_a_baseline_operation_the_fault_caught_is_the_faults():
    """stop 27's CI: two operations begun in the baseline were held by the replica's 1 s
    freeze and set the baseline's p99 (1.03 s), so the fault's (1.04 s) looked normal."""
    r = Recorder()
    r.set_phase("baseline")
    fast = [r.begin("echo") for _ in range(3)]
    caught = [r.begin("echo") for _ in range(3)]
    for token in fast:
        r.end(token, 3000.0)
    r.set_phase("fault")
    for token in caught[:2]:
        r.end(token, 1_025_000.0)
    r.set_phase("recovery")
    r.end(caught[2], 2_500_000.0)  # held through the whole fault: the fault's too
    report = r.report()
    base = histograms.decode(report["baseline"]["echo"]["hdr"])
    assert base.get_total_count() == 3 and base.get_max_value() < 3100
    fault = histograms.decode(report["fault"]["echo"]["hdr"])
    assert fault.get_total_count() == 3 and fault.get_min_value() > 1_000_000
    assert "recovery" not in report


def test_an_operation_in_flight_at_the_report_is_an_unanswered_error_once():
    r = Recorder()
    r.set_phase("fault")
    token = r.begin("read")
    assert r.in_flight == 1
    report = r.report()
    assert report["fault"]["read"]["errors"] == 1
    assert report["fault"]["read"]["top_error"] == f"1 x {UNANSWERED}"
    assert r.in_flight == 0
    r.end(token, 5000.0)  # ends after the report: not counted a second time
    assert r.report()["fault"]["read"]["count"] == 1


def test_latencies_outside_the_histogram_range_are_clamped_not_lost():
    r = Recorder()
    r.set_phase("recovery")
    for value in (-5.0, 0.2, 1e12):
        r.end(r.begin("list"), value)
    h = histograms.decode(r.report()["recovery"]["list"]["hdr"])
    assert h.get_total_count() == 3
    assert h.get_max_value() >= histograms.HIGHEST_US * 0.999
