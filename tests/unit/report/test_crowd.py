"""The crowd's rows in the printed table and report.html."""

from harness.report.crowd import crowd_html, crowd_lines
from harness.report.table import render_table
from harness.results import ScenarioResult

CROWD = {
    "workers": ["crowd1", "crowd2"],
    "users": 200,
    "spawned": 200,
    "lost": [{"worker": "crowd2", "at_s": 3.0, "phase": "fault", "why": "no heartbeat from it"}],
    "rows": {
        "baseline": {"count": 80, "errors": 0, "p50_us": 4100, "p99_us": 9000, "max_us": 9000,
                     "p99_basis": "max", "workers": 2},
        "fault": {"count": 310, "errors": 12, "p50_us": 1_500_000, "p99_us": 2_000_000,
                  "max_us": 2_100_000, "p99_basis": "p99", "workers": 1,
                  "top_error": "12 x echo: TimeoutError: timed out"},
    },
}


def test_the_table_shows_a_row_per_phase_and_the_lost_worker():
    entry = ScenarioResult(name="rst", verdict="error", reason="x", extra={"crowd": CROWD})
    text = render_table(entry)
    assert "crowd: 200 of 200 users on 2 workers (crowd1, crowd2)" in text
    lines = text.splitlines()
    fault = next(x for x in lines if x.split()[:2] == ["crowd", "fault"])
    assert fault.split()[2:] == ["310", "12", "1500.00", "2000.00", "2100.00", "1"]
    base = next(x for x in lines if x.split()[:2] == ["crowd", "baseline"])
    assert base.split()[5] == "max*"
    assert "   crowd fault errors: 12 x echo: TimeoutError: timed out" in lines
    assert "crowd worker crowd2 lost, last heard at 3.0 s (fault): no heartbeat from it" in text


def test_no_crowd_no_lines():
    assert crowd_lines(None) == [] and crowd_html(None) == ""
    assert "crowd" not in render_table(ScenarioResult(name="rst", verdict="pass"))


def test_html_escapes_and_shows_the_rows():
    crowd = {**CROWD, "workers": ["<w>"], "lost": [{"worker": "<b>x</b>"}]}
    html = crowd_html(crowd)
    assert "<td>fault</td><td>310</td><td>12</td><td>1500.00</td>" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
