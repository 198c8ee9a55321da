"""Acknowledged writes are never lost: every smb_rw block the server acknowledged is re-read
after the recovery phase by a fresh session. Controls: a relay that acknowledges one WRITE
itself and never forwards it (replica:never,lose_write=N) fails the no-drop baseline, whose
loss lands in the warm-up or baseline phase, where a read-back error alone never counted;
healthy Samba passes with every block verified."""

from pathlib import Path

import pytest

from harness.history import read_events
from tests.conftest import FAST

pytestmark = pytest.mark.integration


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
def test_healthy_samba_keeps_every_acknowledged_write(nbt_run, dialect):
    entry = nbt_run("rst", target="local", overrides={**FAST, "dialect": dialect})
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    history = list(read_events(Path(entry["history"])))
    verified = [e for e in history if e["type"] == "verify"]
    acked = [e for e in history if e.get("probe") == "smb_rw" and (e.get("detail") or {}).get("acked")]
    # every scheduled write of the three healthy clients (4 Hz through all phases) was acked
    scheduled = 3 * 4.0 * sum(v for k, v in FAST.items() if k.startswith("phases."))
    assert len(verified) == 3 and len(acked) >= 0.9 * scheduled, (len(acked), scheduled)
    assert all(None not in e["blocks"].values() and not e.get("error") for e in verified)
    assert sum(len(e["blocks"]) for e in verified) == len(acked)
