"""The ignore_breaks drop: break notifications decoded, and its evidence judged purely on
hand-written drop events and server rows."""

import struct

import pytest

from harness.drops import DROPS, drop_for
from harness.drops.ignore_breaks import describe_break, ignored_evidence
from harness.server import ServerSocket

ESTAB = [ServerSocket("ESTAB", 0, 0, "10.213.0.1:139", "10.213.0.11:40000")]


def ev(event, **kw):
    return {"type": "drop", "event": event, **kw}


def test_oplock_and_lease_breaks_decoded():
    oplock = struct.pack("<HBBI", 24, 0x01, 0, 0) + bytes(16)
    assert describe_break(0x12, oplock) == {"kind": "oplock", "new_level": 1, "ack_required": True}
    lease = struct.pack("<HHI", 44, 2, 1) + bytes(16) + struct.pack("<III", 7, 5, 0) + bytes(8)
    assert describe_break(0x12, lease) == {
        "kind": "lease",
        "current_state": 7,
        "new_state": 5,
        "ack_required": True,
    }
    assert describe_break(0x10, b"") == {"command": 0x10}


def test_a_break_received_unacknowledged_and_the_victim_still_working():
    events = [
        ev("working", echoes_answered=1),
        ev("break_received", echoes_answered=3, kind="oplock", new_level=1, ack_required=True),
    ]
    assert ignored_evidence(ESTAB, events, 0.0, 2.0) is None  # no echo answered after it yet
    events.append(ev("working", echoes_answered=4))
    found = ignored_evidence(ESTAB, events, 0.0, 2.0)
    assert found["server_socket"] == "ESTAB" and found["breaks_received"] == 1
    assert found["acknowledged"] == 0 and found["echoes_answered_after_break"] == 1
    assert found["break"] == {"kind": "oplock", "new_level": 1, "ack_required": True}
    assert ignored_evidence([], events, 0.0, 2.0) is None  # the server let go: not this drop
    assert "server_socket" not in ignored_evidence(None, events, 0.0, 2.0)  # a URL target
    assert ignored_evidence(ESTAB, [*events, ev("break_acknowledged")], 0.0, 2.0) is None


def test_no_break_proven_only_after_quiet_s_of_answered_echoes():
    working = [ev("working", echoes_answered=1)]
    assert ignored_evidence(ESTAB, working, 1.0, 2.0) is None
    assert ignored_evidence(ESTAB, working, 2.0, 2.0)["breaks_received"] == 0
    assert ignored_evidence(ESTAB, [], 9.0, 2.0) is None  # never answered an echo: not working


def test_registered_with_checked_parameters():
    drop = drop_for("ignore_breaks", {"echo_interval_s": 0.5})
    assert DROPS["ignore_breaks"] is type(drop) and drop.smb1_unsupported
    with pytest.raises(ValueError, match="echo_interval_s"):
        drop_for("ignore_breaks", {"echo_interval_s": 0})
