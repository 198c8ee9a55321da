"""Positive and negative controls: the same scenarios fail against the Q186873 replica and
pass against a fair relay (replica:never) and the plain embedded Samba."""

import pytest

from tests.conftest import DROP_MODES, FAST

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", DROP_MODES)
def test_drop_fails_against_the_replica(nbt_run, mode):
    entry = nbt_run(mode, target="replica:any", overrides=FAST)
    assert entry["verdict"] == "fail", entry["reason"]
    stalled = {v["probe"] for v in entry["violations"]}
    assert "nbstat" in stalled, entry["violations"]
    assert stalled >= {"smb_echo", "nbt_session"}, entry["violations"]
    assert entry["drop"]["evidence"], "the drop itself must still be proven"


@pytest.mark.parametrize("mode", DROP_MODES)
def test_drop_passes_against_the_fair_relay(nbt_run, mode):
    entry = nbt_run(mode, target="replica:never", overrides=FAST)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])


@pytest.mark.parametrize("trigger", ["any", "timeout", "reset", "never"])
def test_baseline_passes_against_every_replica(nbt_run, trigger):
    entry = nbt_run("baseline", target=f"replica:{trigger}", overrides=FAST)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])


def test_reset_trigger_catches_rst(nbt_run):
    entry = nbt_run("rst", target="replica:reset", overrides=FAST)
    assert entry["verdict"] == "fail", entry["reason"]


def test_timeout_trigger_ignores_rst(nbt_run):
    entry = nbt_run("rst", target="replica:timeout", overrides=FAST)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
