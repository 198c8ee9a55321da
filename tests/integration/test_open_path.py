"""The open path: a server that stalls only opens after a lost session (the replica's create
hold: SMB2 CREATE held for hold_s, echo/read/write/NBSTAT flowing) fails the default rst
scenario because smb_open is on by default, and passes without it, which is what the suite
could not see before smb_open."""

import pytest

from tests.conftest import FAST, healthy_dialect_run

pytestmark = pytest.mark.integration

OPEN_STALL = "replica:any,hold=create"
HOLD_S = 4.0


def test_an_open_stall_fails_the_default_rst_scenario_on_smb_open_alone(nbt_run):
    entry = nbt_run("rst", target=OPEN_STALL, overrides=FAST, hold_s=HOLD_S)
    assert entry["verdict"] == "fail", entry["reason"]
    assert {v["probe"] for v in entry["violations"]} == {"smb_open"}, entry["violations"]
    assert entry["drop"]["evidence"]
    assert entry["probes"]["smb_open"]["fault"]["max_us"] > 1e6  # seconds, not milliseconds


def test_the_same_open_stall_passes_without_smb_open(nbt_run):
    entry = nbt_run("rst", target=OPEN_STALL, overrides={**FAST, "probes.smb_open": 0},
                    hold_s=HOLD_S)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])


def test_rst_with_smb_open_passes_against_the_fair_relay(watched_run):
    # test_replica_controls' fair-relay rst run: one run serves both
    entry = watched_run("rst", "replica:never", FAST)[0]
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert entry["probes"]["smb_open"]["fault"]["count"] > 0


# smb_lock (on by default since issue 19; 4 Hz here): its lock + unlock on the client's own file, on SMB 2/3 and SMB1, passes
# against the plain server and is caught when the server freezes after the loss (replica:any).
@pytest.mark.parametrize("dialect", ["smb3", "smb1"])
def test_smb_lock_passes_on_healthy_samba(watched_run, dialect):
    # the run test_write_verification judges for its writes: one run serves both
    entry = watched_run("rst", "local", healthy_dialect_run(dialect))[0]
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    rows = entry["probes"]["smb_lock"]
    assert all(rows[p]["count"] > 0 and rows[p]["errors"] == 0 for p in ("baseline", "fault", "recovery"))


def test_smb_lock_fails_when_the_server_freezes_after_the_loss(nbt_run):
    entry = nbt_run("rst", target="replica:any",
                    overrides={**FAST, "probes.smb_lock": 4, "probes.smb_open": 0})
    assert entry["verdict"] == "fail", entry["reason"]
    assert "smb_lock" in {v["probe"] for v in entry["violations"]}, entry["violations"]
