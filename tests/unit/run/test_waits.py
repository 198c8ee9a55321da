"""The run's gathering for checkers.waits: breaks from a capture's frames onto the run's clock,
and the server-tables sampler's schedule (before the start, after the drop, then every
interval until the end of the fault phase), on hand-made data."""

import json
import time

from harness.history import HistoryWriter
from harness.packets.pcap import Frame, FrameRing
from harness.run.waits import TableSampler, record_breaks
from tests.unit.packets.test_smb2_breaks import CLIENT, NOTIFY, from_client, to_client


class Frames:
    """What record_breaks reads of a running capture."""

    def __init__(self, frames):
        self.ring = FrameRing(1 << 20)
        for f in frames:
            self.ring.add(f)

    def frames(self):
        return self.ring.frames()


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_breaks_are_written_on_the_runs_clock(tmp_path):
    log = HistoryWriter(tmp_path / "e.jsonl", "runner", time.monotonic())
    wall_t0 = time.time()
    capture = Frames([Frame(wall_t0 + 3.0, to_client(1000, NOTIFY)),
                      Frame(wall_t0 + 3.001, from_client(1000 + len(NOTIFY)))])
    record_breaks(capture, f"{CLIENT[0]}:{CLIENT[1]}", log)
    record_breaks(None, f"{CLIENT[0]}:{CLIENT[1]}", log)
    log.close()
    summary, brk, none = events(tmp_path / "e.jsonl")
    assert summary["type"] == "victim_breaks" and summary["captured"] and summary["count"] == 1
    assert brk["type"] == "victim_break" and abs(brk["sent_s"] - 3.0) < 0.05
    assert abs(brk["tcp_acked_s"] - 3.001) < 0.05 and brk["acked_s"] is None
    assert none == {**none, "type": "victim_breaks", "captured": False}


class Tables:
    def __init__(self, doc):
        self.doc, self.calls = doc, 0

    def server_tables(self):
        self.calls += 1
        return self.doc


DOC = {"sessions": {}, "open_files": {"/s/h": {"filename": "held.dat", "opens": {
    "7/1": {"server_id": {"pid": "7"}, "sharemode": {"text": "R"}, "oplock": {"text": "BATCH"}}}}}}


def test_the_sampler_samples_before_after_the_drop_and_through_the_fault_phase(tmp_path):
    log = HistoryWriter(tmp_path / "e.jsonl", "runner", time.monotonic())
    target = Tables(DOC)
    sampler = TableSampler(target, log, None, "held.dat", None, 0.2, 0.6, interval_s=0.2).start()
    time.sleep(1.0)
    sampler.stop()
    log.close()
    got = events(tmp_path / "e.jsonl")
    assert [e["when"] for e in got][:3] == ["before", "drop", "fault"]
    assert all(e["t_s"] <= 0.6 + 0.2 for e in got) and got[1]["t_s"] >= 0.3 - 0.01
    assert got[0]["victim_pids"] == ["7"] and got[0]["opens"][0]["oplock"] == "BATCH"


def test_a_server_without_tables_is_asked_once(tmp_path):
    log = HistoryWriter(tmp_path / "e.jsonl", "runner", time.monotonic())
    target = Tables(None)
    TableSampler(target, log, None, None, None, 0.0, 1.0, interval_s=0.1).start().stop()
    log.close()
    assert target.calls == 1
    assert events(tmp_path / "e.jsonl") == [{**events(tmp_path / "e.jsonl")[0],
                                             "when": "before", "available": False}]


def test_without_a_holding_the_sampler_starts_nothing_while_the_run_measures(tmp_path):
    # its tool is a process: only before the start and after the end (test_no_spawn)
    log = HistoryWriter(tmp_path / "e.jsonl", "runner", time.monotonic())
    target = Tables(DOC)
    sampler = TableSampler(target, log, None, None, None, 0.1, 0.4, interval_s=0.1, during=False)
    sampler.start()
    time.sleep(0.5)
    assert target.calls == 1
    sampler.stop()
    log.close()
    assert [e["when"] for e in events(tmp_path / "e.jsonl")] == ["before", "end"]
    assert target.calls == 2
