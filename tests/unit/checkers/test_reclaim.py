"""A durable reclaim judged by [MS-SMB2]: the checker on hand-written histories."""

from harness.checkers.bounds import Bounds
from harness.checkers.ops import operations
from harness.checkers.reclaim import reclaim_line, reclaim_summary
from harness.checkers.verdict import verdict
from harness.report.table import render_table

WROTE = {"offset": 0, "length": 512, "crc32": 1234}


def contend(seq, t_s, outcome="ok", latency_s=0.01, error=None):
    common = {"process": "h1", "probe": "smb_contend", "seq": seq, "role": "healthy"}
    done = {"type": outcome, "t_s": t_s + latency_s, "latency_us": latency_s * 1e6, **common}
    if error:
        done["error"] = error
    return [{"type": "invoke", "t_s": t_s, "intended_s": t_s, "phase": "fault", **common}, done]


def drop(event, t_s, **kw):
    return {"type": "drop", "process": "victim", "mode": "reclaim", "event": event, "t_s": t_s,
            **kw}


def history(status="ok", opens=(), read_back=None, timeout_ms=10000, sent_s=6.0, answered_s=6.05,
            **more):
    events = [{"type": "holding", "process": "runner", "t_s": 0.1, "holds": "durable_v2",
               "durable_timeout_ms": timeout_ms},
              drop("start", 3.0), drop("end", 3.002, detail={"sent": "RST"})]
    for i, (t_s, outcome) in enumerate(opens):
        events += contend(i, t_s, outcome,
                          error=None if outcome == "ok" else "STATUS_SHARING_VIOLATION(...)")
    events.append(drop("reclaim_sent", sent_s, handle="DH2C"))
    done = {"handle": "DH2C", "status": status, "session": "ok", "phase": "recovery",
            "after_drop_s": round(sent_s - 3.0, 3), "wrote": WROTE, **more}
    if read_back is not None:
        done["read_back"] = read_back
    events.append(drop("reclaim", answered_s, **done))
    return sorted(events, key=lambda e: e["t_s"])


def judge(events):
    return reclaim_summary(events, operations(events))


def test_a_stale_reclaim_granted_after_a_conflicting_open_is_a_violation_naming_it():
    summary, violations, problems = judge(history("ok", opens=[(3.5, "ok")],
                                                  read_back={"error": "STATUS_FILE_CLOSED"}))
    assert problems == [] and [v["stat"] for v in violations] == ["stale_reclaim"]
    v = violations[0]
    assert v["probe"] == "reclaim" and v["phase"] == "recovery" and v["observed"] == "ok"
    assert "granted the stale durable reclaim (DH2C) 3.0 s after the drop" in v["detail"]
    assert "h1 was granted a conflicting open 0.51 s after it" in v["detail"]
    assert "STATUS_OBJECT_NAME_NOT_FOUND" in v["detail"]
    assert summary["conflict"] == {"client": "h1", "granted_s": 3.51, "after_drop_s": 0.51}
    assert summary["read_back"] == "STATUS_FILE_CLOSED"  # shown, not judged
    assert summary["expected"] == "refused"
    assert reclaim_line(summary) == (
        "reclaim DH2C 3.0 s after the drop: granted after a conflicting open (h1, 0.51 s after "
        "the drop), must be refused; read back STATUS_FILE_CLOSED")


def test_a_stale_reclaim_refused_after_a_conflicting_open_passes():
    summary, violations, problems = judge(history("STATUS_OBJECT_NAME_NOT_FOUND",
                                                  opens=[(3.5, "ok"), (3.6, "ok")]))
    assert (violations, problems) == ([], [])
    assert summary["expected"] == "refused" and summary["status"] == "STATUS_OBJECT_NAME_NOT_FOUND"
    assert reclaim_line(summary) == (
        "reclaim DH2C 3.0 s after the drop: refused STATUS_OBJECT_NAME_NOT_FOUND after a "
        "conflicting open (h1, 0.51 s after the drop), as required")


def test_refused_opens_are_no_conflict_and_the_reclaim_must_then_succeed_and_read_back():
    refused = [(3.5, "fail"), (3.6, "fail")]
    summary, violations, _ = judge(history("ok", opens=refused,
                                           read_back={"crc32": 1234, "length": 512}))
    assert violations == [] and summary["conflict"] is None and summary["read_back"] == "as written"
    assert reclaim_line(summary) == ("reclaim DH2C 3.0 s after the drop: granted with no "
                                     "conflicting open, as required; read back as written")
    _, violations, _ = judge(history("ok", read_back={"crc32": 99, "length": 512}))
    assert [v["stat"] for v in violations] == ["reclaim_read_back"]
    assert "block at offset 0 (512 bytes) read back differs" in violations[0]["detail"]
    _, violations, _ = judge(history("ok", read_back={"error": "STATUS_FILE_CLOSED"}))
    assert "read back STATUS_FILE_CLOSED" in violations[0]["detail"]


def test_a_reclaim_refused_with_no_conflict_fails_unless_past_the_durable_timeout():
    summary, violations, _ = judge(history("STATUS_OBJECT_NAME_NOT_FOUND"))
    assert [v["stat"] for v in violations] == ["reclaim_refused"]
    assert "no other client had opened the file, within its 10000 ms timeout" in violations[0][
        "detail"]
    assert reclaim_line(summary).endswith("with no conflicting open, must be granted")
    summary, violations, _ = judge(history("STATUS_OBJECT_NAME_NOT_FOUND", timeout_ms=2000))
    assert violations == [] and summary["expected"] == "refused"


def test_an_open_granted_while_the_reclaim_was_answered_leaves_either_answer_right():
    summary, violations, _ = judge(history("STATUS_OBJECT_NAME_NOT_FOUND", opens=[(6.0, "ok")],
                                           sent_s=6.0, answered_s=6.05))
    assert violations == [] and summary["expected"] == "either"


def test_an_unanswered_reclaim_is_a_violation_and_one_never_sent_is_a_problem():
    _, violations, problems = judge(history("timeout", error="NetBIOSTimeout: timed out"))
    assert [v["stat"] for v in violations] == ["reclaim_unanswered"] and problems == []
    assert "timed out" in violations[0]["detail"]
    events = [drop("start", 3.0), drop("reclaim", 6.0, status="not_sent",
                                       session="NetBIOSError: connection refused")]
    summary, violations, problems = judge(events)
    assert violations == [] and problems == [
        "drop reclaim: the reclaim was never sent: NetBIOSError: connection refused"]
    _, _, problems = judge([drop("start", 3.0)])
    assert problems == ["drop reclaim: the victim recorded no reclaim (it never came back)"]
    assert judge([{"type": "drop", "mode": "rst", "event": "start", "t_s": 3.0}]) == (None, [], [])


def test_the_verdict_fails_on_a_stale_reclaim_and_the_table_names_it():
    events = history("ok", opens=[(3.5, "ok")]) + [
        drop("evidence", 3.1, evidence={"reclaim": "DH2C", "reclaim_status": "ok"})]
    result = verdict(sorted(events, key=lambda e: e["t_s"]), Bounds(), [], expect_drop="reclaim")
    assert result["verdict"] == "fail" and "reclaim/recovery stale_reclaim" in result["reason"]
    assert result["reclaim"]["status"] == "ok"
    table = render_table(result.with_(name="durable_v2-reclaim"))
    assert "   reclaim DH2C 3.0 s after the drop: granted after a conflicting open" in table
    assert "VIOLATION reclaim recovery stale_reclaim: the server granted the stale" in table
