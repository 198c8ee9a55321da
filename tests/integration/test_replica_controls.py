"""Positive and negative controls: the same scenarios fail against the Q186873 replica and
pass against a fair relay (replica:never) and the plain embedded Samba."""

import pytest

from harness.targets.replica import DEFAULT_HOLD_S
from tests.conftest import DROP_MODES, FAST

pytestmark = pytest.mark.integration
# When the replica's trigger comes after the drop (s): at once for a reset or a close with a
# request outstanding, after frame_timeout_s (1 s) for a half frame, after the relay's TCP
# user timeout (3 s) for a stalled reader (stall, pause). The judged phases (fault and recovery) hold that,
# the 1 s freeze and 1 s to spare; the fair relay runs the same phases as its replica.
TRIGGER_AFTER_S = {"rst": 0.0, "fin": 0.0, "kill": 0.0, "halfframe": 1.0, "stall": 3.0,
                   "pause": 3.0}  # a stopped victim is a stalled reader too (zero window)
HOLD_S = DEFAULT_HOLD_S


def phases_for(mode: str) -> dict:
    judged_s = TRIGGER_AFTER_S[mode] + HOLD_S + 1.0
    return {**FAST, "phases.fault_s": max(FAST["phases.fault_s"], judged_s - FAST["phases.recovery_s"])}


@pytest.mark.parametrize("mode", DROP_MODES)
def test_drop_fails_against_the_replica(nbt_run, mode):
    entry = nbt_run(mode, target="replica:any", overrides=phases_for(mode))
    assert entry["verdict"] == "fail", entry["reason"]
    stalled = {v["probe"] for v in entry["violations"]}
    assert "nbstat" in stalled, entry["violations"]
    assert stalled >= {"smb_echo", "nbt_session"}, entry["violations"]
    assert entry["drop"]["evidence"], "the drop itself must still be proven"


@pytest.mark.parametrize("mode", DROP_MODES)
def test_drop_passes_against_the_fair_relay(watched_run, mode):
    # rst's run is also test_open_path's fair-relay control (smb_open judged there)
    entry = watched_run(mode, "replica:never", phases_for(mode))[0]
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
