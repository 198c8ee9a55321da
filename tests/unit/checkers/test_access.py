"""What the contended opener went through (blocked, timed out, refused, granted, with times)
and the first-answer bound, on hand-written histories. Pure."""

import pytest

from harness.checkers.access import access_line, access_summary, status_sequence
from harness.checkers.ops import Op

SV = "STATUS_SHARING_VIOLATION: A file cannot be opened"


def op(t, outcome="ok", error=None, latency_s=0.005):
    return Op(
        "c1_smb_contend",
        "healthy",
        "smb_contend",
        int(t * 10),
        "fault",
        t,
        outcome,
        latency_s * 1e6,
        error,
    )


# A hung batch-oplock holder (the shape measured on Samba 4.17, drop at 2.5 s): the first open
# waits 35 s on the unacknowledged break, then is refused by the holder's share mode, as is
# every open until the holder is killed at 42.5 s; then granted.
HUNG = (
    [op(3.0, "fail", SV, 35.04), op(3.5, "fail", SV, 34.54)]
    + [op(38.5 + 0.5 * i, "fail", SV) for i in range(8)]
    + [op(42.6), op(43.1)]
)


def test_a_blocked_then_refused_then_granted_opener():
    summary, violations = access_summary(HUNG, 2.5, 45.0, "batch_oplock", max_answer_s=37.0)
    assert summary["first_answer_s"] == pytest.approx(35.54)  # 3.0 + 35.04 - 2.5
    assert summary["longest_wait_s"] == pytest.approx(35.04)
    assert summary["time_to_access_s"] == pytest.approx(40.105)
    assert violations == []
    assert summary["statuses"][0]["longest_s"] == pytest.approx(35.04)
    line = access_line(summary)
    assert "got the file 40.105 s after the drop (max_wait_s 45)" in line
    assert "first answer 35.540 s after the drop (max_answer_s 37)" in line
    assert "blocked 35.0 s, then refused STATUS_SHARING_VIOLATION x10 at 0.5-39.5 s" in line
    assert "granted x2 at 40.1-40.6 s" in line


def test_an_opener_left_waiting_longer_than_max_answer_s_is_a_violation():
    late = [op(3.0, "fail", SV, 40.0), op(43.1)]
    _, violations = access_summary(late, 2.5, 45.0, "batch_oplock", max_answer_s=37.0)
    assert [v["stat"] for v in violations] == ["first_answer"]
    assert violations[0]["observed_us"] == 40_500_000 and violations[0]["limit_us"] == 37_000_000
    # never answered: timeouts are no answer
    waited = [
        op(3.0, "info", "timeout: timed out", 10.0),
        op(13.0, "info", "timeout: timed out", 10.0),
    ]
    summary, violations = access_summary(waited, 2.5, 45.0, "batch_oplock", max_answer_s=37.0)
    assert summary["first_answer_s"] is None and summary["longest_wait_s"] == 10.0
    assert {v["stat"] for v in violations} == {"first_answer", "time_to_access"}
    assert "timed out after 10.0 s x2 at 0.5-10.5 s" in access_line(summary)
    # no bound: not judged, and not in the summary
    summary, violations = access_summary(late, 2.5, 45.0, "batch_oplock")
    assert "max_answer_s" not in summary and violations == []


def test_quick_answers_are_not_blocked_and_runs_keep_their_longest_wait():
    runs = status_sequence([op(1.0, "fail", SV, 0.002), op(1.5, "fail", SV, 0.9), op(2.0)])
    assert [(r["status"], r["count"], r["longest_s"]) for r in runs] == [
        ("STATUS_SHARING_VIOLATION", 2, 0.9),
        ("ok", 1, 0.005),
    ]
    summary, _ = access_summary([op(1.0, "fail", SV, 0.9), op(2.0)], 0.5, 5.0, "deny_write")
    assert "blocked" not in access_line(summary)
    assert "first answer" not in access_line(
        {**summary, "first_answer_s": 2.0}
    )  # after access: not shown
