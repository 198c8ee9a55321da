"""A crowd worker's recorder: histograms per phase x operation, errors, and operations in
flight at the report counted as unanswered errors of the phase they started in."""

from harness.checkers import histograms
from harness.crowd.recorder import UNANSWERED, Recorder


def test_operations_go_to_the_phase_they_started_in():
    r = Recorder()
    r.set_phase("baseline")
    a = r.begin("echo")
    r.set_phase("fault")
    r.end(a, 1500.0)  # ended in fault, started in baseline
    b = r.begin("echo")
    r.end(b, 0, "echo: TimeoutError: timed out")
    report = r.report()
    assert set(report) == {"baseline", "fault"}
    base = report["baseline"]["echo"]
    assert (base["count"], base["errors"], base["top_error"]) == (1, 0, None)
    h = histograms.decode(base["hdr"])
    assert h.get_total_count() == 1 and 1490 <= h.get_max_value() <= 1510
    fault = report["fault"]["echo"]
    assert (fault["count"], fault["errors"], fault["hdr"]) == (1, 1, None)
    assert fault["top_error"] == "1 x echo: TimeoutError: timed out"


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
