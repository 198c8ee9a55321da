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


# The victim's own data before its drop (harness.clients.victim_data): three writes and a
# FLUSH at the warm-up's end, one more write just before the drop; the same record shape,
# role "victim".
FV = "nbth-victim_data-200.dat"


def victim_op(seq, probe, detail, outcome="ok", phase="warmup"):
    common = {"process": "victim", "probe": probe, "seq": seq, "role": "victim"}
    return [{"type": "invoke", "phase": phase, "t_s": 1 + seq / 100, **common},
            {"type": outcome, "t_s": 1.005 + seq / 100, "detail": detail, **common}]


def victim_write(seq, index, crc, outcome="ok", phase="warmup"):
    return victim_op(seq, "victim_write", {"file": FV, "offset": index * 512, "length": 512,
                                           "crc32": crc, "acked": outcome == "ok"}, outcome, phase)


VICTIM = (victim_write(0, 0, 100) + victim_write(1, 1, 101) + victim_write(2, 2, 102)
          + victim_op(3, "victim_flush", {"file": FV, "flush": True})
          + victim_write(4, 3, 103, phase="baseline"))


def victim_verify(blocks, **kw):
    return {"type": "verify", "process": "runner", "file": FV, "blocks": blocks, **kw}


def test_the_victims_writes_are_verified_and_know_whether_a_flush_followed():
    writes = acknowledged_writes(HISTORY + VICTIM)
    victim = [(w.offset, w.probe, w.flushed) for w in writes if w.client == "victim"]
    assert victim == [(0, "victim_write", True), (512, "victim_write", True),
                      (1024, "victim_write", True), (1536, "victim_write", False)]
    assert all(w.flushed is None for w in writes if w.client != "victim")  # smb_rw: no FLUSH
    assert blocks_to_verify(writes)[FV] == [(0, 512), (512, 512), (1024, 512), (1536, 512)]
    all_there = [verify({"0": 11, "512": 22, "1024": 33}),
                 victim_verify({"0": 100, "512": 101, "1024": 102, "1536": 103})]
    assert write_violations(HISTORY + VICTIM + all_there) == []


def test_a_lost_flushed_block_of_the_victim_is_a_violation_naming_the_victim():
    v = write_violations(VICTIM + [victim_verify({"0": 7, "512": 101, "1024": 102, "1536": 103})])
    assert [(x["probe"], x["stat"], x["client"], x["offset"], x["phase"], x["observed"], x["flushed"])
            for x in v] == [("victim_write", "lost_write", "victim", 0, "warmup", "mismatch", True)]
    assert v[0]["detail"] == ("victim: acknowledged block(s) mismatch after recovery, 1 block(s) at "
                              "offset 0 (written in warmup, flushed before the drop)")


def test_an_acknowledged_but_unflushed_block_counts_too_and_says_so():
    v = write_violations(VICTIM + [victim_verify({"0": 100, "512": 101, "1024": 102, "1536": None})])
    assert [(x["offset"], x["phase"], x["observed"], x["flushed"]) for x in v] == [
        (1536, "baseline", "missing", False)]
    assert "(written in baseline, not flushed before the drop)" in v[0]["detail"]


def test_blocks_a_failed_flush_did_not_cover_are_unflushed():
    history = (victim_write(0, 0, 100) + victim_op(1, "victim_flush", {"file": FV, "flush": True},
                                                   outcome="fail"))
    (w,) = acknowledged_writes(history)
    assert w.flushed is False
    v = write_violations(history + [victim_verify({"0": 100})])
    assert [(x["probe"], x["stat"], x["observed"], x["limit"]) for x in v] == [
        ("victim_flush", "errors", 1, 0)]


def test_a_victim_write_that_failed_or_never_completed_is_an_error_violation():
    failed = victim_op(0, "victim_write", None, outcome="info")
    failed[1]["error"] = "timeout: timed out"
    stalled = victim_write(1, 1, 101)[:1]  # invoked, no completion
    v = write_violations(failed + stalled)
    assert [(x["probe"], x["stat"], x["client"], x["observed"]) for x in v] == [
        ("victim_write", "errors", "victim", 2)]
    assert "timeout: timed out" in v[0]["detail"]


def test_the_victims_writes_before_a_halfframe_count_in_its_evidence():
    """The server's bytes_received since set-up must cover the victim's data writes before its
    drop and the partial frame: the writes alone are not the half frame."""
    from harness.drops import DROPS
    from harness.server import ServerSocket

    before = ServerSocket("ESTAB", 0, 0, "10.213.0.1:139", "10.213.0.12:4000", {"bytes_received": 1500})

    def now(received):
        return [ServerSocket("ESTAB", 0, 0, "10.213.0.1:139", "10.213.0.12:4000",
                             {"bytes_received": received})]

    drop = DROPS["halfframe"]()
    detail = {"sent_bytes": 1028, "sent_before_drop_bytes": 2604}
    assert drop.evidence(before, now(1500 + 2604), detail, None) is None  # only the writes came
    assert drop.evidence(before, now(1500 + 2604 + 1028), detail, None)["bytes_received_since_ready"] == 3632


def test_a_write_acknowledged_whose_read_back_timed_out_is_recorded_and_re_read(tmp_path):
    """smb_rw's WRITE answered, its READ never: the completion (info, a timeout) still carries
    the write's detail, so the block is among those re-read after the recovery phase."""
    import socket
    import time
    from types import SimpleNamespace

    from harness.history import HistoryWriter, read_events
    from harness.probes.smb_rw import ReadWriteProbe
    from harness.procs.openloop import complete

    class Conn:  # the two calls the probe makes on its session's connection
        def writeFile(self, tree_id, file_id, data, offset):
            return len(data)

        def readFile(self, tree_id, file_id, offset, length):
            raise socket.timeout("timed out")

    probe = ReadWriteProbe(SimpleNamespace(conn=Conn(), tree_id=1), "c1_smb_rw")
    probe.file_id = 7
    writer = HistoryWriter(tmp_path / "events.jsonl", "c1_smb_rw")
    common = {"probe": "smb_rw", "seq": 1, "role": "healthy"}
    writer.write("invoke", phase="fault", intended_s=0.0, **common)
    t0 = time.monotonic()
    assert complete(SimpleNamespace(endpoint=None), writer, t0, 0.0, t0, probe.invoke, common) == "info"
    writer.close()
    writes = acknowledged_writes(list(read_events(tmp_path / "events.jsonl")))
    assert [(w.file, w.offset, w.phase) for w in writes] == [(probe.file_name, 0, "fault")]
    assert blocks_to_verify(writes) == {probe.file_name: [(0, 512)]}
