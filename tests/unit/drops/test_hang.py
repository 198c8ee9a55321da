"""The hang drop: its evidence judged purely on hand-written rows, and its parameters."""

import os

import pytest

from harness.drops import DROPS, drop_for
from harness.drops.hang import hung_evidence
from harness.server import ServerSocket

PEER = "10.213.0.11:40000"


def row(state="ESTAB", send_q=0):
    return ServerSocket(state, 0, send_q, "10.213.0.1:139", PEER)


def test_a_break_unread_in_the_stopped_victims_queue_proves_it_at_once():
    found = hung_evidence([row()], {"pid": 1234}, "T", 92, 0.0, 2.0)
    assert found["server_socket"] == "ESTAB" and found["server_unacked_bytes"] == 0
    assert found["victim_state"] == "stopped" and found["victim_pid"] == 1234
    assert found["victim_rx_queue_bytes"] == 92 and "break" in found["waiting"]


def test_not_proven_while_running_gone_unacknowledged_or_closing():
    assert hung_evidence([row()], {}, "S", 92, 9.0, 2.0) is None  # running: not hung
    assert hung_evidence([row()], {}, None, 92, 9.0, 2.0) is None  # gone
    # data the victim's kernel did not acknowledge: a closed window (that is pause), not a hang
    assert hung_evidence([row(send_q=4096)], {}, "T", 92, 9.0, 2.0) is None
    assert hung_evidence([row("CLOSE-WAIT")], {}, "T", 92, 9.0, 2.0) is None
    assert hung_evidence([], {}, "T", 92, 9.0, 2.0) is None
    assert hung_evidence([row()], {}, "T", None, 9.0, 2.0) is None  # the victim's socket unseen


def test_nothing_sent_to_the_victim_proves_it_only_after_quiet_s():
    assert hung_evidence([row()], {}, "T", 0, 1.9, 2.0) is None  # a break may still come
    found = hung_evidence([row()], {}, "T", 0, 2.0, 2.0)
    assert (
        found["victim_rx_queue_bytes"] == 0
        and found["waiting"] == "nothing sent to the victim in 2 s"
    )


def test_registered_killed_at_the_fault_end_and_its_parameters_checked():
    hang = drop_for("hang", {"rcvbuf_bytes": 1 << 21})
    assert DROPS["hang"] is type(hang) and hang.after == "kill" and hang.rcvbuf_bytes == 1 << 21
    assert not hang.needs_root and not hang.needs_own_host
    with pytest.raises(ValueError, match="rcvbuf_bytes"):
        drop_for("hang", {"rcvbuf_bytes": 100})
    with pytest.raises(ValueError, match="quiet_s"):
        drop_for("hang", {"quiet_s": -1})
    with pytest.raises(TypeError):
        drop_for("hang", {"after": "resume"})  # a hung holder is always killed


def test_evidence_needs_the_victim_stopped_before_it_looks_at_its_socket():
    hang = drop_for("hang")
    assert hang.evidence(None, [row()], {"pid": os.getpid()}, None) is None  # this process runs
    assert hang._table is None


def seg(direction, t, seq=1000, ack=5000, window=512, payload=0):
    from harness.lab.capture import Captured
    from harness.packets.tcp import ACK, Segment

    return Captured(t, direction, Segment("a", "b", 1, 2, seq, ack, ACK, window, payload))


def test_capture_evidence_the_servers_break_acknowledged_by_the_stopped_victim():
    from harness.drops.hang import hung_in_capture

    brk = seg("in", 10.5, seq=0xFFFFFFF0, payload=92)  # ends past the wrap: seq arithmetic
    acked = seg("out", 10.6, ack=(0xFFFFFFF0 + 92) & 0xFFFFFFFF)
    found = hung_in_capture([brk, acked], 10.0, "T", 0.0, 2.0)
    assert found["server_bytes"] == 92 and found["victim_window"] == 512
    assert hung_in_capture([brk, acked], 10.0, "S", 0.0, 2.0) is None  # running
    assert hung_in_capture([brk], 10.0, "T", 9.0, 2.0) is None  # not acknowledged
    assert (
        hung_in_capture(
            [brk, seg("out", 10.6, ack=0xFFFFFFF0 + 40, window=512)], 10.0, "T", 9.0, 2.0
        )
        is None
    )
    zero = seg("out", 10.6, ack=(0xFFFFFFF0 + 92) & 0xFFFFFFFF, window=0)
    assert hung_in_capture([brk, zero], 10.0, "T", 9.0, 2.0) is None  # a closed window: pause
    talking = seg("out", 10.7, payload=60)
    assert hung_in_capture([brk, acked, talking], 10.0, "T", 9.0, 2.0) is None  # not hung
    assert hung_in_capture([], 10.0, "T", 1.0, 2.0) is None
    assert (
        hung_in_capture([seg("in", 9.0, payload=92)], 10.0, "T", 2.0, 2.0)["victim_state"]
        == "stopped"
    )
