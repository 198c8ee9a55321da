"""The replica's logon and lock holds (a server that, after a lost session, holds only new
logons, or only byte-range locks): which client messages they hold, on hand-written headers."""

import struct

import pytest

from harness.errors import BadInput
from harness.replica.config import ReplicaConfig
from harness.replica.framing import is_lock_request, is_logon_request
from harness.replica.hold import Hold
from harness.targets.spec import make_target, parse_target

HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


def smb2(command):
    return HEADER.pack(b"\xfeSMB", 64, 1, 0, command, 1, 0, 0, 7, 0, 5, 99, b"\x11" * 16)


def smb1(command, words=b""):
    # [MS-CIFS] 2.2.3.1: Protocol, Command, Status, Flags, Flags2, PIDHigh, SecurityFeatures,
    # Reserved, TID, PIDLow, UID, MID (32 bytes), then WordCount and the words
    return b"\xffSMB" + bytes([command]) + bytes(27) + bytes([len(words) // 2]) + words


NEGOTIATE, SESSION_SETUP, TREE_CONNECT = smb2(0x0000), smb2(0x0001), smb2(0x0003)
LOGOFF, CREATE, LOCK, ECHO, READ, WRITE, IOCTL = (smb2(c) for c in (0x0002, 0x0005, 0x000A,
                                                                     0x000D, 0x0008, 0x0009, 0x000B))
# LOCKING_ANDX: AndX (4 bytes), FID, TypeOfLock, OplockLevel, Timeout, NumberOfRequestedUnlocks,
# NumberOfRequestedLocks ([MS-CIFS] 2.2.4.32.1)
SMB1_LOCK = smb1(0x24, struct.pack("<BBHHBBIHH", 0xFF, 0, 0, 1, 0x10, 0, 0, 0, 1))
SMB1_OPLOCK_RELEASE = smb1(0x24, struct.pack("<BBHHBBIHH", 0xFF, 0, 0, 1, 0x02, 0, 0, 0, 0))


def test_logon_requests_are_negotiate_session_setup_and_tree_connect():
    assert all(is_logon_request(h) for h in (NEGOTIATE, SESSION_SETUP, TREE_CONNECT))
    assert all(is_logon_request(smb1(c)) for c in (0x72, 0x73, 0x75))
    assert not any(is_logon_request(h) for h in (LOGOFF, CREATE, LOCK, ECHO, READ, WRITE, IOCTL,
                                                  smb1(0x74), smb1(0xA2), b"", b"\xfeSMB"))


def test_lock_requests_are_smb2_lock_and_smb1_locking_andx_that_lock():
    assert is_lock_request(LOCK) and is_lock_request(SMB1_LOCK) and is_lock_request(smb1(0x0C))
    assert not any(is_lock_request(h) for h in (NEGOTIATE, CREATE, ECHO, READ, WRITE, IOCTL,
                                                 SMB1_OPLOCK_RELEASE, smb1(0xA2), b""))


@pytest.mark.parametrize("holds, held, flowing", [
    ("logon", [NEGOTIATE, SESSION_SETUP, TREE_CONNECT], [CREATE, LOCK, ECHO, READ, WRITE, LOGOFF]),
    ("lock", [LOCK, SMB1_LOCK], [NEGOTIATE, SESSION_SETUP, CREATE, ECHO, READ, WRITE]),
])
def test_a_request_hold_holds_its_class_alone_and_only_during_the_hold(holds, held, flowing):
    hold = Hold("any", hold_s=3.0, degrade_ms=0.0, holds=holds)
    assert not any(hold.holds_request(h) for h in held)  # before any loss: nothing is held
    d = hold.on_loss("reset", now_s=10.0)
    assert (d.action, d.until_s) == (f"hold_{holds}", 13.0)
    assert hold.fast and not hold.frozen and not hold.degrading
    assert all(hold.holds_request(h) for h in held)
    assert not any(hold.holds_request(h) for h in flowing)
    assert hold.end(now_s=13.0)["action"] == f"hold_{holds}"
    assert not any(hold.holds_request(h) for h in held)


def test_a_logon_hold_on_the_reset_trigger_ignores_a_timed_out_logon_s_close():
    # a logon the hold made time out closes its connection with the NEGOTIATE outstanding
    # (close_outstanding): counted by trigger any, it would extend the hold again and again
    hold = Hold("reset", hold_s=3.0, degrade_ms=0.0, holds="logon")
    assert hold.on_loss("reset", now_s=1.0).action == "hold_logon"
    assert hold.on_loss("close_outstanding", now_s=2.5).action == "ignored"
    assert hold.until_s == 4.0


def test_request_holds_are_replica_options():
    base = {"listen_host": "10.213.0.2", "upstream_host": "10.213.0.1"}
    for holds in ("logon", "lock"):
        assert ReplicaConfig(**base, holds=holds).holds == holds
        with pytest.raises(BadInput, match="cannot also degrade"):
            ReplicaConfig(**base, holds=holds, degrade_ms=5.0)
        with pytest.raises(BadInput, match="cannot be combined"):
            ReplicaConfig(**base, holds=holds, lose_write=2)
    assert make_target(parse_target("replica:reset,hold=logon")).name == "replica:reset,hold=logon"
    assert "hold new logons" in make_target(parse_target("replica:reset,hold=logon")).describe()
    assert make_target(parse_target("replica:any,hold=lock")).hold == "lock"
