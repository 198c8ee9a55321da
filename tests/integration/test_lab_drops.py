"""Drops that need the lab network: the server's TCP really times out on a blackholed victim."""

from pathlib import Path

import pytest

from harness.history import read_events
from tests.conftest import FAST
from tests.support.victim_data_checks import assert_victim_data_verified

pytestmark = pytest.mark.integration
# The server gives up about 3 s after the cut (tcp_retries2 = 3), and the timeout replica then
# freezes for 1 s: the fault phase covers the first, fault and recovery the freeze; the cut
# stays until the phases end (5.5 s after it).
LONG_FAULT = {**FAST, "phases.fault_s": 4.0, "phases.recovery_s": 1.5, "evidence_timeout_s": 15}


def test_blackhole_passes_on_samba_with_the_server_timeout_as_evidence(nbt_run):
    entry = nbt_run("blackhole", target="local", overrides=LONG_FAULT)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    drop = entry["drop"]
    assert drop["evidence"]["retransmits_seen"] >= 1
    assert drop["evidence"]["server_socket_after"] != "ESTAB"
    gave_up_after_s = drop["evidence_at_s"] - drop["at_s"]
    assert 1.0 < gave_up_after_s < 10.0, gave_up_after_s
    assert_victim_data_verified(list(read_events(Path(entry["history"]))))


def test_blackhole_fails_against_the_timeout_replica(nbt_run):
    """The KB's exact condition: the stall begins when TCP sees the timeout."""
    entry = nbt_run("blackhole", target="replica:timeout", overrides=LONG_FAULT)
    assert entry["verdict"] == "fail", entry["reason"]
    assert "nbstat" in {v["probe"] for v in entry["violations"]}


def test_partition_passes_and_records_what_the_server_did(nbt_run):
    entry = nbt_run("partition", target="local", overrides={**FAST, "phases.fault_s": 3.0})
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert entry["drop"]["evidence"]["retransmits_seen"] >= 1
    after = {a["event"]: a for a in entry["drop"]["after"]}
    assert after["after_heal"]["victim_echo"] == "session alive"  # 2 s < the server's 3 s
    assert_victim_data_verified(list(read_events(Path(entry["history"]))))


def test_netem_passes_and_touches_only_the_victim(nbt_run):
    entry = nbt_run("netem", target="local", overrides=FAST)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert entry["drop"]["evidence"]
    traffic = next(a for a in entry["drop"]["after"] if a["event"] == "victim_traffic")
    assert traffic["echoes_ok"] > 0 and traffic["reads_ok"] > 0
    assert [n for n in entry["scratch"]["removed"] if n.startswith("nbth-victim-")] and not entry["scratch"]["left"]
    assert_victim_data_verified(list(read_events(Path(entry["history"]))))


def test_a_partition_longer_than_the_timeout_fails_against_the_timeout_replica(nbt_run):
    """4.5 s without the victim: the replica's TCP to it times out (3 s) and it freezes."""
    entry = nbt_run("partition", target="replica:timeout",
                    overrides={**LONG_FAULT, "drop.params.partition_s": 4.5})
    assert entry["verdict"] == "fail", entry["reason"]
    assert any(e.get("reason") == "timeout" for e in _server_events(entry))


def test_a_short_partition_and_netem_lose_no_session_so_the_replica_stays_fair(nbt_run):
    """Neither is a lost session in the KB's sense: no trigger, no stall, no false alarm.

    The partition lasts 1 s: the relay's TCP to the victim gives up 3 s after its first
    unanswered segment (TCP_USER_TIMEOUT), and its retransmissions back off 0.2, 0.4, 0.8,
    1.6 s; after a 2 s partition the one that would have found the healed path came at 3.0 s,
    racing the timeout (a CI failure: the relay timed out 3.4 s after the cut and froze).
    The phases after the drop keep their length (6 s, netem's 5 s), so a relay that did time
    out would be seen."""
    for mode in ("partition", "netem"):
        entry = nbt_run(mode, target="replica:any", overrides={
            **FAST, "phases.fault_s": 4.0 if mode == "partition" else 3.0, "phases.recovery_s": 2.0,
            **({"drop.params.partition_s": 1.0} if mode == "partition" else {})})
        assert entry["verdict"] == "pass", (mode, entry["reason"], entry["violations"])


def _server_events(entry):
    return [e for e in read_events(Path(entry["history"])) if e["type"] == "server"]


def test_healthy_clients_spread_over_hosts_stay_bounded_through_a_blackhole(nbt_run):
    entry = nbt_run("blackhole", target="local", overrides={**LONG_FAULT, "healthy_hosts": 3})
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    clients = {e["name"]: e for e in read_events(Path(entry["history"])) if e["type"] == "client"}
    healthy = [clients[f"c{i}_smb_echo"] for i in (1, 2, 3)]
    assert [clients[f"c{i}_smb_rw"]["host"] for i in (1, 2, 3)] == [c["host"] for c in healthy]
    assert len({c["host"] for c in healthy}) == 3
    assert len({c["local"].split(":")[0] for c in healthy}) == 3
    assert clients["victim"]["host"] not in {c["host"] for c in healthy}
