"""Every drop mode and the baseline against the embedded Samba: the verdict, the evidence,
and samples of every probe in every phase."""

import json

import pytest

from harness.schedule import PHASES
from tests.conftest import DROP_MODES, FAST, FAST_DROP_AT_S

pytestmark = pytest.mark.integration


def assert_every_probe_sampled(entry):
    for probe in ("nbstat", "nbt_session", "smb_echo", "smb_rw", "smb_open"):
        for phase in PHASES:
            row = entry["probes"][probe][phase]
            assert row["count"] > 0 and row["p50_us"] is not None, (probe, phase, row)


@pytest.mark.parametrize("mode", DROP_MODES)
def test_drop_passes_on_healthy_samba_with_evidence(watched_run, mode):
    # watched: test_no_spawn checks the same runs for processes spawned while judged
    entry, history, _, _ = watched_run(mode, "local", FAST)
    assert entry["verdict"] == "pass", entry["reason"] + json.dumps(entry["violations"])
    drop = entry["drop"]
    assert drop["mode"] == mode and drop["at_s"] == pytest.approx(FAST_DROP_AT_S, abs=0.2)
    assert drop["evidence"], drop
    assert_every_probe_sampled(entry)
    kinds = [(e["type"], e.get("event")) for e in history if e["type"] == "drop"]
    assert ("drop", "start") in kinds and ("drop", "evidence") in kinds
    assert entry["scratch"]["left"] == [], entry["scratch"]
    victim_scratch = {"fin": 1, "kill": 1, "stall": 1, "pause": 1}.get(mode, 0)  # watch dir, or read file
    assert sum(n.startswith("nbth-victim-") for n in entry["scratch"]["removed"]) == victim_scratch


def test_baseline_passes_and_has_no_drop(nbt_run):
    entry = nbt_run("baseline", target="local", overrides=FAST)
    assert entry["verdict"] == "pass", entry["reason"]
    assert entry["drop"] is None
    # no dialect asked for: every SMB 2/3 dialect offered, and Samba picks 3.1.1
    assert entry["dialect"] == "any"
    got = entry["negotiated"]
    assert (got["dialect"], got["offered"][-1]) == ("3.1.1", "3.1.1") and "mixed" not in got, got
    assert_every_probe_sampled(entry)


def test_a_drop_without_evidence_is_an_error_not_a_pass(nbt_run, monkeypatch):
    from harness.drops.halfframe import HalfFrame

    monkeypatch.setattr(HalfFrame, "evidence", lambda self, *a: None)
    entry = nbt_run("halfframe", target="local", overrides={**FAST, "evidence_timeout_s": 0.5})
    assert entry["verdict"] == "error" and "unproven" in entry["reason"]
