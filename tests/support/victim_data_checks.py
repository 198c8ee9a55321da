"""What a run's history must show of the victim's own data (harness.clients.victim_data): its
writes and FLUSH acknowledged before the drop started (the flushed part at the warm-up's end,
the last write at the baseline's end, just before the drop), and every block re-read after the
recovery phase as acknowledged. For integration tests of any drop mode."""

from __future__ import annotations

from harness.clients.victim_data import FLUSHED_BLOCKS, UNFLUSHED_BLOCKS


def assert_victim_data_verified(history: list[dict]) -> dict:
    """Assert it; return the victim's verify event."""
    ops = [e for e in history if e.get("role") == "victim" and "probe" in e]
    done = [e for e in ops if e["type"] == "ok"]
    writes = [e["detail"] for e in done if e["probe"] == "victim_write"]
    flushes = [e for e in done if e["probe"] == "victim_flush"]
    assert len(writes) == FLUSHED_BLOCKS + UNFLUSHED_BLOCKS and len(flushes) == 1, ops
    assert len(ops) == 2 * len(done), "every victim operation completed, and succeeded"
    start = next(e for e in history if e["type"] == "drop" and e.get("event") == "start")
    assert max(e["t_s"] for e in done) <= start["t_s"], "all of it before the drop started"
    phases = [e["phase"] for e in ops if e["type"] == "invoke"]  # flushed ones at the warm-up's end
    assert set(phases[:FLUSHED_BLOCKS + 1]) <= {"warmup", "baseline"}
    assert set(phases[FLUSHED_BLOCKS + 1:]) == {"baseline"}  # 0.05 s before the drop
    verify = next(e for e in history if e["type"] == "verify" and e["file"] == writes[0]["file"])
    assert not verify.get("error"), verify
    assert verify["blocks"] == {str(w["offset"]): w["crc32"] for w in writes}, verify
    return verify
