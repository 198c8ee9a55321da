"""Hundreds of sessions: 256 active (pooled, 1 Hz echo each) and 1,000 idle sessions against
the embedded Samba pass, and the same crowd fails against the replica (a reduced run)."""

from pathlib import Path

import pytest

from harness.history import read_events
from tests.conftest import FAST

pytestmark = pytest.mark.integration

CROWD = {"healthy_clients": 256, "sessions_per_process": 64, "idle_sessions": 1000,
         "probes.smb_echo": 1, "probes.smb_rw": 0, **FAST}  # 256 echoes/s: 128 or more per phase


def test_a_crowd_passes_on_healthy_samba(nbt_run):
    entry = nbt_run("rst", target="local", overrides=CROWD)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    events = list(read_events(Path(entry["history"])))
    idle = [e for e in events if e["type"] == "idle"]
    assert sum(e["held"] for e in idle) == 1000 and not any(e["lost"] for e in idle)
    pools = [e for e in events if e["type"] == "pool"]
    assert sum(e["sessions"] for e in pools) == 256 + 1000
    sessions = {(e["process"], e["session"]) for e in events
                if e["type"] == "ok" and e.get("probe") == "smb_echo" and "session" in e}
    assert len(sessions) == 256  # every active session answered
    assert entry["scratch"]["left"] == []


def test_the_same_crowd_fails_against_the_replica(nbt_run):
    entry = nbt_run("rst", target="replica:any", overrides=CROWD)
    assert entry["verdict"] == "fail", entry["reason"]
    assert "smb_echo" in {v["probe"] for v in entry["violations"]}
