"""report.html links a scenario's pcap (or says why there is none); the compare page leads
with what moved, the verdicts and the times to access (hand-written entries)."""

from harness.checkers.compare import compare_reports
from harness.report.compare_page import render_compare_page
from harness.report.html import render_report
from harness.results import Report
from tests.unit.checkers.test_compare import _docs_for_lead


def page_of(extra: dict) -> str:
    doc = Report.from_json({"version": 1, "target": "t", "scenarios": [
        {"name": "rst", "verdict": "fail", "reason": "r", **extra}]})
    return render_report(doc, {}, "1")


def test_report_links_the_pcap_relative_to_the_run_directory():
    html = page_of({"pcap": "rst/capture.pcap", "pcap_frames": 12})
    assert '<a href="rst/capture.pcap">rst/capture.pcap</a> (12 packets)' in html
    assert "capture.pcap" not in page_of({})
    assert "no pcap: no packet socket" in page_of({"pcap_note": "no pcap: no packet socket"})
    assert 'href="&quot;' in page_of({"pcap": '"><script>'})  # escaped, never markup


def test_compare_page_leads_with_what_moved_then_verdicts_and_access():
    base, new = _docs_for_lead()
    html = render_compare_page(compare_reports(base, new), "a", "b", base, new, "1")
    moved, verdicts = html.index('id="moved"'), html.index('id="verdicts"')
    access, rows = html.index('id="access"'), html.index('id="rows"')
    assert moved < verdicts < access < rows
    assert "significant, under the thresholds" in html[moved:verdicts]
    assert "<td>never</td>" in html[access:rows] and "<td>0.200</td>" in html[access:rows]
