"""Acknowledged writes are never lost: every smb_rw block the server acknowledged, and the
victim's own blocks written (three flushed, one not) just before its drop, are re-read after
the recovery phase by a fresh session.

Controls: a relay that acknowledges one WRITE itself and never forwards it
(replica:never,lose_write=N) fails the no-drop baseline, whose loss lands in the warm-up or
baseline phase, where a read-back error alone never counted; the same relay losing the
victim's first (flushed) write (lose_write=1,lose_write_from=victim) fails rst with a
violation naming the victim, over SMB 3.1.1 (SMB2 WRITE) and nt1 (SMB1 WRITE_ANDX), and so
does losing its last, unflushed one (lose_write=4); healthy
Samba passes with every block verified, the victim's too, over SMB3 and SMB1, and so does
every drop mode (the runs test_embedded_drops judges: one run serves both)."""

from pathlib import Path

import pytest

from harness.history import read_events
from tests.conftest import DROP_MODES, FAST, healthy_dialect_run
from tests.support.victim_data_checks import assert_victim_data_verified

pytestmark = pytest.mark.integration
LOSE_VICTIMS_WRITE = "replica:never,lose_write=1,lose_write_from=victim"


def test_a_lost_acknowledged_write_fails_even_before_the_fault_phase(nbt_run):
    entry = nbt_run("baseline", target="replica:never,lose_write=10", overrides=FAST)
    assert entry["verdict"] == "fail", entry["reason"]
    lost = [v for v in entry["violations"] if v["stat"] == "lost_write"]
    assert len(lost) == 1 and lost[0]["blocks"] == 1, entry["violations"]
    assert lost[0]["phase"] in ("warmup", "baseline") and lost[0]["client"].endswith("_smb_rw")
    assert lost[0]["offset"] % 512 == 0 and lost[0]["observed"] in ("missing", "mismatch")
    history = list(read_events(Path(entry["history"])))
    assert [e for e in history if e.get("event") == "lost_write"], "the relay logged its loss"
    # nothing else was wrong: every other violation is about the same write
    assert {v["stat"] for v in entry["violations"]} <= {"lost_write", "read_back"}


@pytest.mark.parametrize("dialect", ["smb3", "smb1"])
def test_healthy_samba_keeps_every_acknowledged_write(watched_run, dialect):
    # the run test_open_path judges for smb_lock: one run serves both
    entry, history, _, _ = watched_run("rst", "local", healthy_dialect_run(dialect))
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    verified = [e for e in history if e["type"] == "verify"]
    acked = [e for e in history if e.get("probe") == "smb_rw" and (e.get("detail") or {}).get("acked")]
    # every scheduled write of the three healthy clients (4 Hz through all phases) was acked
    scheduled = 3 * 4.0 * sum(v for k, v in FAST.items() if k.startswith("phases."))
    assert len(verified) == 4 and len(acked) >= 0.9 * scheduled, (len(acked), scheduled)
    assert all(None not in e["blocks"].values() and not e.get("error") for e in verified)
    victim = assert_victim_data_verified(history)  # the victim's file is the fourth
    assert sum(len(e["blocks"]) for e in verified) == len(acked) + len(victim["blocks"])


@pytest.mark.parametrize("dialect, smb", [("smb3", 2), ("smb1", 1)])
def test_a_lost_flushed_write_of_the_victim_fails_naming_the_victim(nbt_run, dialect, smb):
    """One relay for both runs: it loses the first WRITE of each connection from the
    victim's host, here the first of its three flushed blocks."""
    entry = nbt_run("rst", target=LOSE_VICTIMS_WRITE, overrides={**FAST, "dialect": dialect})
    assert entry["verdict"] == "fail", entry["reason"]
    writes = [v for v in entry["violations"] if "client" in v]  # the write checker's
    assert [(v["probe"], v["stat"], v["client"], v["offset"], v["phase"], v["flushed"])
            for v in writes] == [
        ("victim_write", "lost_write", "victim", 0, "warmup", True)], entry["violations"]
    assert writes[0]["detail"].startswith("victim: ") and "flushed before the drop" in writes[0]["detail"]
    history = list(read_events(Path(entry["history"])))
    (lost,) = [e for e in history if e.get("event") == "lost_write"]
    assert (lost["nth_write"], lost["offset"], lost["smb"]) == (1, 0, smb)
    assert entry["drop"]["evidence"], "the drop itself still proved itself"


@pytest.mark.parametrize("mode", DROP_MODES)
def test_the_victims_data_is_written_before_and_kept_after_every_drop(watched_run, mode):
    # the runs test_embedded_drops judges (their verdict, evidence and latency are judged there)
    entry, history, _, _ = watched_run(mode, "local", FAST)
    assert not [v for v in entry["violations"] if "client" in v], entry["violations"]
    assert entry["drop"]["evidence"], entry["drop"]
    assert_victim_data_verified(history)
    assert entry["drop"]["detail"]["sent_before_drop_bytes"] > 4 * 512


def test_a_lost_unflushed_write_of_the_victim_fails_too(nbt_run):
    """Its fourth write, the one no FLUSH covers: acknowledged is enough (no drop touches the
    server), and the violation says it was not flushed."""
    entry = nbt_run("rst", target="replica:never,lose_write=4,lose_write_from=victim", overrides=FAST)
    assert entry["verdict"] == "fail", entry["reason"]
    writes = [v for v in entry["violations"] if "client" in v]
    assert [(v["probe"], v["client"], v["offset"], v["phase"], v["flushed"]) for v in writes] == [
        ("victim_write", "victim", 3 * 512, "baseline", False)], entry["violations"]
    assert "not flushed before the drop" in writes[0]["detail"]
