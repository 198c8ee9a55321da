"""The text report's line per drop of a run of several."""

from harness.report.drops import MAX_LINES, drops_lines
from harness.report.table import render_table
from harness.results import ScenarioResult

DROPS = [
    {"index": 0, "mode": "fin", "victim": "victim", "scheduled_s": 2.054, "at_s": 2.0569,
     "evidence": {"server_socket_after": "gone"}},
    {"index": 1, "mode": "rst", "victim": "victim2", "scheduled_s": 3.3, "at_s": None, "evidence": None,
     "no_evidence": "the victim could not log on again before its drop: timed out"},
]


def test_one_line_per_drop_with_its_proof_or_why_none():
    assert drops_lines(DROPS) == [
        "   drop 0 fin on victim at 2.057s (planned 2.054s): proven",
        "   drop 1 rst on victim2 at - (planned 3.300s): unproven: the victim could not log on again "
        "before its drop: timed out",
    ]
    assert drops_lines(None) == drops_lines([]) == []
    many = drops_lines([DROPS[0]] * (MAX_LINES + 3))
    assert len(many) == MAX_LINES + 1 and many[-1] == "   (+3 more drops in report.json)"


def test_the_table_shows_them_under_the_verdict():
    text = render_table(ScenarioResult(name="two", verdict="error", reason="x", extra={"drops": DROPS}))
    assert "   drop 1 rst on victim2 at - (planned 3.300s): unproven" in text
