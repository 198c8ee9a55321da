"""Drops that need the lab network: the server's TCP really times out on a blackholed victim."""

import pytest

from tests.conftest import FAST

pytestmark = pytest.mark.integration
# The server gives up about 3 s after the cut (tcp_retries2 = 3): the fault phase covers it.
LONG_FAULT = {**FAST, "phases.fault_s": 5.0, "phases.recovery_s": 2.0, "evidence_timeout_s": 15}


def test_blackhole_passes_on_samba_with_the_server_timeout_as_evidence(nbt_run):
    entry = nbt_run("blackhole", target="local", overrides=LONG_FAULT)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    drop = entry["drop"]
    assert drop["evidence"]["retransmits_seen"] >= 1
    assert drop["evidence"]["server_socket_after"] != "ESTAB"
    gave_up_after_s = drop["evidence_at_s"] - drop["at_s"]
    assert 1.0 < gave_up_after_s < 10.0, gave_up_after_s


def test_blackhole_fails_against_the_timeout_replica(nbt_run):
    """The KB's exact condition: the stall begins when TCP sees the timeout."""
    entry = nbt_run("blackhole", target="replica:timeout", overrides=LONG_FAULT)
    assert entry["verdict"] == "fail", entry["reason"]
    assert "nbstat" in {v["probe"] for v in entry["violations"]}
