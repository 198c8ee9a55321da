"""The late_ack drop: acknowledgment bodies built from hand-written break notifications, and
its evidence judged purely on hand-written drop events."""

import struct

import pytest

from harness.drops import DROPS, drop_for
from harness.drops.late_ack import break_ack, late_evidence
from harness.server import ServerSocket

ESTAB = [ServerSocket("ESTAB", 0, 0, "10.213.0.1:139", "10.213.0.11:40000")]
FILE_ID = bytes(range(16))
KEY = bytes(range(100, 116))


def ev(event, **kw):
    return {"type": "drop", "event": event, **kw}


def test_oplock_break_acknowledged_at_the_level_asked_with_its_file_id():
    note = struct.pack("<HBBI", 24, 0x01, 0, 0) + FILE_ID
    assert break_ack(note) == struct.pack("<HBBI", 24, 0x01, 0, 0) + FILE_ID


def test_lease_break_acknowledged_with_its_key_and_new_state():
    note = struct.pack("<HHI", 44, 2, 1) + KEY + struct.pack("<IIIII", 7, 5, 0, 0, 0)
    ack = break_ack(note)
    assert len(ack) == 36 and ack[8:24] == KEY
    assert struct.unpack_from("<HHI", ack) == (36, 0, 0)
    assert struct.unpack_from("<IQ", ack, 24) == (5, 0)


def test_proven_once_every_break_was_acknowledged_late_enough():
    brk = ev("break_received", echoes_answered=3)
    assert late_evidence(ESTAB, [brk], 10.0, 9.0, 2.0) is None  # not yet acknowledged
    found = late_evidence(
        ESTAB, [brk, ev("break_acknowledged", late_s=10.01, status="0x00000000")], 10.0, 0.0, 2.0
    )
    assert found == {
        "server_socket": "ESTAB",
        "breaks_received": 1,
        "acknowledged": 1,
        "late_s": 10.01,
        "answer": "0x00000000",
    }
    early = ev("break_acknowledged", late_s=0.2, status="0x00000000")
    assert late_evidence(ESTAB, [brk, early], 10.0, 0.0, 2.0) is None  # not late: not this drop
    assert late_evidence([], [brk, ev("break_acknowledged", late_s=10.0)], 10.0, 0.0, 2.0) is None
    working = [ev("working", echoes_answered=1)]
    assert late_evidence(ESTAB, working, 10.0, 2.0, 2.0)["breaks_received"] == 0
    assert late_evidence(ESTAB, working, 10.0, 1.0, 2.0) is None


def test_registered_with_checked_parameters():
    drop = drop_for("late_ack", {"ack_after_s": 5})
    assert DROPS["late_ack"] is type(drop) and drop.ack_after_s == 5.0 and drop.smb1_unsupported
    with pytest.raises(ValueError, match="ack_after_s"):
        drop_for("late_ack", {"ack_after_s": -1})
