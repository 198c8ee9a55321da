"""The replica's create hold and lost-write control: the pure parts (hold policy, frame ends,
the fake WRITE response, option parsing) on hand-written data."""

import struct

import pytest

from harness.errors import BadInput
from harness.packets.smb2 import SMB2_WRITE, fake_write_response, parse_header
from harness.replica.config import ReplicaConfig
from harness.replica.framing import FrameTracker, is_create_request
from harness.replica.hold import Hold
from harness.targets.spec import make_target, parse_target

HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


def smb2(command, message_id=7, body=b"\x00" * 8):
    return HEADER.pack(b"\xfeSMB", 64, 1, 0, command, 1, 0, 0, message_id, 0, 5, 99, b"\x11" * 16) + body


def frame(body):
    return len(body).to_bytes(4, "big") + body


CREATE, ECHO, READ, WRITE = smb2(0x0005), smb2(0x000D), smb2(0x0008), smb2(0x0009)
SMB1_NT_CREATE = b"\xffSMB\xa2" + bytes(40)


def test_a_create_hold_holds_only_opens_and_only_during_the_hold():
    hold = Hold("any", hold_s=4.0, degrade_ms=0.0, holds="create")
    assert not hold.holds_request(CREATE)  # before any loss: nothing is held
    d = hold.on_loss("reset", now_s=10.0)
    assert (d.action, d.until_s) == ("hold_create", 14.0)
    assert hold.fast and not hold.frozen and not hold.degrading  # everything else flows
    assert hold.holds_request(CREATE) and hold.holds_request(SMB1_NT_CREATE)
    assert not any(hold.holds_request(h) for h in (ECHO, READ, WRITE, b"", b"\xfeSMB"))
    assert hold.on_loss("timeout", now_s=12.0).until_s == 16.0  # extends, as a freeze does
    hold.note_held(nbytes=120)
    assert hold.end(now_s=16.0) == {"action": "hold_create", "held_s": 6.0, "held_bytes": 120,
                                    "held_datagrams": 0}
    assert not hold.holds_request(CREATE) and hold.fast


def test_a_create_hold_ignores_what_its_trigger_does_not_count():
    hold = Hold("reset", hold_s=4.0, degrade_ms=0.0, holds="create")
    assert hold.on_loss("timeout", now_s=1.0).action == "ignored"
    assert not hold.holds_request(CREATE)


def test_unknown_hold_kind_is_refused():
    with pytest.raises(ValueError, match="holds must be one of all, create"):
        Hold("any", 1.0, 0.0, holds="reads")


def test_is_create_request():
    assert is_create_request(CREATE) and is_create_request(b"\xffSMB\x2d" + bytes(30))
    assert not is_create_request(ECHO) and not is_create_request(b"\xffSMB\x2e" + bytes(30))


def test_the_frame_tracker_says_where_each_frame_ended_in_its_chunk():
    tracker = FrameTracker()
    a, b, c = frame(ECHO), frame(CREATE), frame(READ)
    frames = tracker.feed(a + b + c[:10])
    assert len(frames) == 2 and tracker.ends == [len(a), len(a) + len(b)]
    frames = tracker.feed(c[10:] + b"\x85\x00\x00\x00")  # the rest, then a keep-alive
    assert len(frames) == 2 and tracker.ends == [len(c) - 10, len(c) - 10 + 4]
    assert tracker.feed(b"") == [] and tracker.ends == []


def test_the_fake_write_response_answers_the_request_as_if_written():
    body = struct.pack("<HHIQ", 49, 0x70, 512, 4096) + bytes(32) + b"x" * 512
    request = smb2(SMB2_WRITE, message_id=77, body=body)
    response = fake_write_response(request)
    assert parse_header(response) == (SMB2_WRITE, 0, 77, 1)  # success, from the server
    _p, _s, _charge, _st, _cmd, credits, _f, _n, _mid, _r, tree_id, session_id, sig = \
        HEADER.unpack_from(response)
    assert (credits, tree_id, session_id, sig) == (1, 5, 99, bytes(16))
    assert struct.unpack_from("<HHI", response, 64) == (17, 0, 512)  # Count: all of it
    with pytest.raises(ValueError):
        fake_write_response(ECHO)


def test_replica_options_are_validated():
    base = {"listen_host": "10.213.0.2", "upstream_host": "10.213.0.1"}
    assert ReplicaConfig(**base, holds="create").holds == "create"
    for bad, match in (({"holds": "x"}, "unknown hold"), ({"lose_write": -1}, "lose_write"),
                       ({"lose_write": True}, "lose_write"),
                       ({"holds": "create", "lose_write": 3}, "cannot be combined"),
                       ({"holds": "create", "degrade_ms": 5.0}, "cannot also degrade")):
        with pytest.raises(BadInput, match=match):
            ReplicaConfig(**base, **bad)


def test_replica_target_strings_carry_the_options():
    spec = parse_target("replica:any,hold=create")
    assert spec.options == {"hold": "create"} and spec.label() == "replica:any,hold=create"
    assert make_target(spec).name == "replica:any,hold=create"
    assert make_target(parse_target("replica:never,lose_write=10")).lose_write == 10
    assert parse_target("replica").label() == "replica:any"
    for bad in ("replica:any,speed=2", "replica:any,hold", "replica:any,hold=reads",
                "replica:any,lose_write=x", "replica:any,hold=create,lose_write=2",
                "docker:bookworm,hold=create"):
        with pytest.raises(BadInput):
            make_target(parse_target(bad))
