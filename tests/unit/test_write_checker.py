"""Acknowledged writes are never lost: the checker on hand-written histories."""

from harness.checkers.writes import acknowledged_writes, blocks_to_verify, write_violations

F1 = "nbth-c1_smb_rw-100.dat"


def op(seq, phase, offset, crc, outcome="ok", acked=True, read_back=None, process="c1_smb_rw"):
    detail = {"file": F1, "offset": offset, "length": 512, "crc32": crc, "acked": acked}
    if read_back:
        detail["read_back"] = read_back
    common = {"process": process, "probe": "smb_rw", "seq": seq, "role": "healthy"}
    return [{"type": "invoke", "phase": phase, "t_s": seq, **common},
            {"type": outcome, "t_s": seq + 0.01, "detail": detail, **common}]


def verify(blocks, **kw):
    return {"type": "verify", "process": "runner", "file": F1, "blocks": blocks, **kw}


HISTORY = op(0, "warmup", 0, 11) + op(1, "baseline", 512, 22) + op(2, "fault", 1024, 33)


def test_every_acknowledged_write_is_found_with_its_phase():
    writes = acknowledged_writes(HISTORY + [{"type": "info", "process": "c1_smb_rw",
                                             "probe": "smb_rw", "seq": 9}])
    assert [(w.offset, w.phase) for w in writes] == [(0, "warmup"), (512, "baseline"), (1024, "fault")]
    assert blocks_to_verify(writes) == {F1: [(0, 512), (512, 512), (1024, 512)]}


def test_all_blocks_there_as_acknowledged_is_no_violation():
    assert write_violations(HISTORY + [verify({"0": 11, "512": 22, "1024": 33})]) == []


def test_no_acknowledged_write_needs_no_verification():
    assert write_violations([]) == []
    unacked = op(0, "fault", 0, 11, outcome="info", acked=False)
    assert write_violations(unacked) == []


def test_a_missing_or_changed_block_is_a_violation_naming_client_offset_and_phase():
    v = write_violations(HISTORY + [verify({"0": 11, "512": None, "1024": 99})])
    assert [(x["stat"], x["phase"], x["client"], x["offset"], x["observed"]) for x in v] == [
        ("lost_write", "baseline", "c1_smb_rw", 512, "missing"),
        ("lost_write", "fault", "c1_smb_rw", 1024, "mismatch")]
    assert "c1_smb_rw" in v[0]["detail"] and "512" in v[0]["detail"] and "baseline" in v[0]["detail"]


def test_a_read_back_mismatch_counts_in_every_phase_even_the_warmup():
    history = op(0, "warmup", 0, 11, outcome="fail", read_back="mismatch")
    v = write_violations(history + [verify({"0": 11})])
    assert [(x["stat"], x["phase"], x["offset"]) for x in v] == [("read_back", "warmup", 0)]


def test_a_lost_file_is_one_violation_per_phase_not_one_per_block():
    history = [e for i in range(30) for e in op(i, "baseline", i * 512, i)]
    v = write_violations(history + [verify({}, missing_file=True, error="STATUS_OBJECT_NAME_NOT_FOUND")])
    assert len(v) == 1 and v[0]["blocks"] == 30 and len(v[0]["offsets"]) == 10
    assert v[0]["observed"] == "missing" and "(+20 more)" in v[0]["detail"]


def test_no_verification_at_all_is_a_violation_not_a_pass():
    v = write_violations(HISTORY)
    assert {x["observed"] for x in v} == {"unverified: no re-read after recovery"}
    v = write_violations(HISTORY + [verify({}, error="connect failed")])
    assert {x["observed"] for x in v} == {"unverified: connect failed"}
