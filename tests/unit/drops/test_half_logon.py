"""half_logon's evidence from hand-written server rows, and its parameters."""

import pytest

from harness.drops import drop_for
from harness.drops.half_logon import half_logon_evidence, half_logon_record
from harness.server import ServerSocket

PEERS = ["10.213.0.11:40001", "10.213.0.11:40002"]


def row(peer, state="ESTAB", recv_q=0):
    return ServerSocket(state, recv_q, 0, "10.213.0.1:139", peer)


def test_proven_when_every_half_logon_is_established_and_drained():
    rows = [row(PEERS[1]), row(PEERS[0]), row("10.213.0.12:50000")]  # a healthy client's too
    assert half_logon_evidence(rows, PEERS) == {
        "server_sockets": "ESTAB", "half_logons": 2, "unread_bytes": 0, "peers": PEERS}


@pytest.mark.parametrize("rows", [
    [row(PEERS[0])],                                   # one is gone (the server dropped it)
    [row(PEERS[0]), row(PEERS[1], "CLOSE-WAIT")],      # one is closing
    [row(PEERS[0]), row(PEERS[1], recv_q=120)],        # the server has not read a leg yet
    [],
])
def test_unproven_while_any_is_missing_closing_or_unread(rows):
    assert half_logon_evidence(rows, PEERS) is None
    assert half_logon_evidence([row(p) for p in PEERS], []) is None


def test_parameters_and_the_rows_it_watches():
    drop = drop_for("half_logon", {"connections": 2, "after": "negotiate"})
    assert drop.connections == 2 and drop.after == "negotiate"
    assert drop.watched_peers({"peers": PEERS}) == PEERS and drop.watched_peers({}) is None
    assert drop_for("rst").watched_peers({"peers": PEERS}) is None  # the victim's session
    with pytest.raises(ValueError, match="after must be one of negotiate, session_setup"):
        drop_for("half_logon", {"after": "tree_connect"})
    with pytest.raises(ValueError, match="connections must be an integer from 1 to 64"):
        drop_for("half_logon", {"connections": 0})


def test_on_a_server_it_cannot_look_inside_the_victims_record_proves_it():
    detail = {"peers": PEERS, "after": "session_setup", "session_setup_answers": ["0xc0000016"] * 2}
    assert half_logon_record(detail) == {
        "victim_record": "2 logons stopped after session_setup, each answered", "half_logons": 2}
    assert half_logon_record({**detail, "session_setup_answers": ["0xc0000016", "0x00000000"]}) is None
    assert half_logon_record({"peers": PEERS, "after": "negotiate"})["half_logons"] == 2
    assert half_logon_record({"peers": [], "after": "negotiate"}) is None
