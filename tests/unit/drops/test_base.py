"""Drop evidence from hand-written server TCP tables (ss -tainH output)."""

from harness.drops import DROPS
from harness.drops.kill import SIGKILLED
from harness.lab.ss import parse_ss

PEER = "10.213.0.12:40000"
SS_ESTAB = f"""LISTEN 0      50     10.213.0.1:139 0.0.0.0:*
\t cubic cwnd:10
ESTAB  0      0      10.213.0.1:139 {PEER}
\t cubic wscale:7,7 rto:204 rtt:0.05/0.02 bytes_sent:900 bytes_acked:901 bytes_received:1500 send 1Mbps
"""


def rows(text, peer=PEER):
    return [r for r in parse_ss(text) if r.peer == peer]


def test_parse_ss_rows_and_info():
    all_rows = parse_ss(SS_ESTAB)
    assert [r.state for r in all_rows] == ["LISTEN", "ESTAB"]
    est = all_rows[1]
    assert est.local == "10.213.0.1:139" and est.peer == PEER
    assert est.info["bytes_received"] == 1500 and est.info["rtt"] == 0.05


BEFORE = rows(SS_ESTAB)[0]


def test_vanished_connection_is_evidence_for_rst_and_fin():
    for mode in ("rst", "fin"):
        drop = DROPS[mode]()
        assert drop.evidence(BEFORE, [], {}, None)["server_socket_after"] == "gone"
        assert drop.evidence(BEFORE, rows(SS_ESTAB), {}, None) is None
        closing = SS_ESTAB.replace("ESTAB ", "CLOSE-WAIT ")
        assert drop.evidence(BEFORE, rows(closing), {}, None)["server_socket_after"] == "CLOSE-WAIT"


def test_nothing_vanishes_that_was_never_seen():
    assert DROPS["rst"]().evidence(None, [], {}, None) is None


def test_kill_needs_the_sigkill_and_the_vanished_socket():
    drop = DROPS["kill"]()
    assert drop.evidence(BEFORE, [], {}, 0) is None
    assert drop.evidence(BEFORE, rows(SS_ESTAB), {}, SIGKILLED) is None
    assert drop.evidence(BEFORE, [], {}, SIGKILLED)["victim_exitcode"] == SIGKILLED


def test_halfframe_needs_bytes_received_and_drained_queue():
    drop = DROPS["halfframe"]()
    detail = {"sent_bytes": 1028}
    after = SS_ESTAB.replace("bytes_received:1500", "bytes_received:2528")
    assert drop.evidence(BEFORE, rows(after), detail, None)["bytes_received_since_ready"] == 1028
    assert drop.evidence(BEFORE, rows(SS_ESTAB), detail, None) is None  # nothing arrived
    queued = after.replace("ESTAB  0      0", "ESTAB  1028   0")
    assert drop.evidence(BEFORE, rows(queued), detail, None) is None  # not read by the server
    assert drop.evidence(BEFORE, [], detail, None) is None  # gone is not stuck


def test_stall_needs_a_full_send_queue():
    drop = DROPS["stall"]()
    full = SS_ESTAB.replace("ESTAB  0      0     ", "ESTAB  0      125976")
    assert drop.evidence(BEFORE, rows(full), {}, None)["send_q_bytes"] == 125976
    assert drop.evidence(BEFORE, rows(SS_ESTAB), {}, None) is None


RETRANSMITTING = SS_ESTAB.replace("bytes_received:1500", "bytes_received:1500 retrans:1/3 backoff:2")


def test_blackhole_needs_retransmissions_then_the_server_giving_up():
    drop = DROPS["blackhole"]()
    assert drop.evidence(BEFORE, [], {}, None) is None  # gone, but never seen retransmitting
    assert drop.evidence(BEFORE, rows(RETRANSMITTING), {}, None) is None  # still trying
    found = drop.evidence(BEFORE, [], {}, None)  # then it gave up
    assert found["retransmits_seen"] == 2 and found["server_socket_after"] == "gone"


def test_blackhole_evidence_is_per_run():
    drop = DROPS["blackhole"]()
    drop.evidence(BEFORE, rows(RETRANSMITTING), {}, None)
    fresh = DROPS["blackhole"]()
    assert fresh.evidence(BEFORE, [], {}, None) is None


def test_netem_evidence_from_loss_or_delay():
    lossy = SS_ESTAB.replace("bytes_received:1500", "bytes_received:1500 retrans:0/2")
    drop = DROPS["netem"](loss_pct=10, delay_ms=100)
    assert drop.evidence(BEFORE, rows(SS_ESTAB), {"delay_ms": 100}, None) is None
    assert drop.evidence(BEFORE, rows(lossy), {"delay_ms": 0}, None)["server_retrans"] == 2
    slow = SS_ESTAB.replace("rtt:0.05/0.02", "rtt:61.2/5")
    assert drop.evidence(BEFORE, rows(slow), {"delay_ms": 100}, None)["server_rtt_ms"] == 61.2
    assert drop.evidence(BEFORE, rows(slow), {"delay_ms": 0}, None) is None  # delay not applied


def test_partition_evidence_is_the_server_retransmitting_into_it():
    drop = DROPS["partition"]()
    assert drop.evidence(BEFORE, rows(SS_ESTAB), {}, None) is None
    found = drop.evidence(BEFORE, rows(RETRANSMITTING), {}, None)
    assert found["server_socket"] == "ESTAB" and found["retransmits_seen"] >= 1


def test_host_wide_drops_refuse_a_victim_without_a_host_of_its_own():
    for mode in ("netem", "partition"):
        assert "whole host" in DROPS[mode]().unsupported(None)
        assert DROPS[mode]().unsupported("nbth-1-1-victim") is None
    assert DROPS["blackhole"]().unsupported(None) is None  # one flow: fine anywhere


def test_privileged_drops_skip_without_root(monkeypatch):
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for mode in ("blackhole", "netem", "partition"):
        assert "needs root" in DROPS[mode]().unsupported("nbth-1-1-victim")
    assert DROPS["rst"]().unsupported(None) is None
