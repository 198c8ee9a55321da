"""The replica's lost-write control, pure parts: SMB1 WRITE_ANDX parsing and its fake answer
(literal bytes; impacket, the client that must accept it, parses it back), SMB1 FLUSH, which
write is lost (once, or per connection of one host), and the options that say so."""

import struct

import pytest
from impacket import smb

from harness.errors import BadInput
from harness.packets import smb1
from harness.replica.config import ReplicaConfig
from harness.replica.framing import FrameTracker
from harness.replica.lose import WriteLoss, lost_write_answer, write_kind
from harness.targets.spec import make_target, parse_target

# What impacket sends for writeFile(tid 0x0801, fid 0x4a1f, b"ABCDEFGH", offset 1536) as pid
# 0x4321, uid 0x6402, mid 0x0123: header, WordCount 14, words, ByteCount 8, the data.
WRITE_ANDX = bytes.fromhex(
    "ff534d422f000000000000000000000000000000000000000108214302642301"
    "0eff0000001f4a00060000ff00000008000800000008003f00000000000800"
    "4142434445464748")


def test_a_write_andx_request_is_recognised_and_parsed():
    assert smb1.command(WRITE_ANDX) == smb1.SMB_COM_WRITE_ANDX
    assert smb1.is_write_andx_request(WRITE_ANDX[:34])  # the header and the AndX word suffice
    assert smb1.write_andx_request(WRITE_ANDX) == (0x4A1F, 1536, 8)
    high = bytearray(WRITE_ANDX)
    high[57:61] = struct.pack("<I", 1)  # OffsetHigh
    high[51:53] = struct.pack("<H", 2)  # DataLengthHigh
    assert smb1.write_andx_request(bytes(high)) == (0x4A1F, (1 << 32) | 1536, (2 << 16) | 8)


def test_what_is_not_a_lone_write_andx_request_is_not_taken():
    reply = bytearray(WRITE_ANDX)
    reply[9] |= smb1.SMB_FLAGS_REPLY
    chained = bytearray(WRITE_ANDX)
    chained[33] = 0x2E  # an AndX READ after it
    for other in (bytes(reply), bytes(chained), b"\xfeSMB" + WRITE_ANDX[4:], WRITE_ANDX[:33]):
        assert not smb1.is_write_andx_request(other)
    with pytest.raises(smb1.SMB1Error):
        smb1.write_andx_request(bytes(chained))
    with pytest.raises(ValueError):
        smb1.fake_write_andx_response(WRITE_ANDX[:40])


def test_the_fake_write_andx_response_answers_as_if_written():
    signed = bytearray(WRITE_ANDX)
    signed[10] |= smb1.SMB_FLAGS2_SMB_SECURITY_SIGNATURE
    signed[14:22] = b"\x11" * 8
    response = smb1.fake_write_andx_response(bytes(signed))
    assert len(response) == 47 and response[:5] == b"\xffSMB\x2f" and response[5:9] == bytes(4)
    assert response[9] & smb1.SMB_FLAGS_REPLY and not response[10] & smb1.SMB_FLAGS2_SMB_SECURITY_SIGNATURE
    assert response[14:22] == bytes(8)  # unsigned
    assert response[24:32] == WRITE_ANDX[24:32]  # TID, PID, UID, MID
    assert response[32:] == bytes.fromhex("06ff00000008 00ffff 0000 0000 0000".replace(" ", ""))
    packet = smb.NewSMBPacket(data=response)  # what impacket's write_andx reads
    assert packet.isValidAnswer(smb.SMB.SMB_COM_WRITE_ANDX)
    assert (packet["Tid"], packet["Uid"], packet["Mid"]) == (0x0801, 0x6402, 0x0123)
    words = smb.SMBWriteAndXResponse_Parameters(smb.SMBCommand(packet["Data"][0])["Parameters"])
    assert words["Count"] == 8


def test_the_relay_answers_a_lost_write_andx_in_one_nbt_frame():
    assert write_kind(WRITE_ANDX[:34]) == "smb1"
    assert write_kind(b"\xfeSMB" + bytes(60)) is None  # an SMB2 NEGOTIATE
    answer, offset, length = lost_write_answer(WRITE_ANDX, "smb1")
    assert (offset, length) == (1536, 8)
    assert answer == (47).to_bytes(4, "big") + smb1.fake_write_andx_response(WRITE_ANDX)


def test_smb1_flush_parameters_are_the_fid():
    assert smb1.flush_parameters(0x4A1F) == b"\x1f\x4a"


def test_the_frame_tracker_keeps_enough_of_a_write_andx_to_tell():
    tracker = FrameTracker()
    (frame,) = tracker.feed(len(WRITE_ANDX).to_bytes(4, "big") + WRITE_ANDX)
    assert smb1.is_write_andx_request(frame.head)


def test_without_a_host_the_nth_write_of_all_connections_is_lost_once():
    loss = WriteLoss(3)
    assert loss.armed("a", "10.0.0.1") and loss.armed("b", "10.0.0.2")
    assert [loss.count(c, h) for c, h in (("a", "10.0.0.1"), ("b", "10.0.0.2"))] == [None, None]
    assert loss.count("a", "10.0.0.1") == 3
    assert not loss.armed("b", "10.0.0.2") and loss.count("b", "10.0.0.2") is None
    assert not WriteLoss(0).armed("a", "10.0.0.1") and WriteLoss(0).count("a", "10.0.0.1") is None


def test_with_a_host_each_of_its_connections_loses_its_own_nth_write():
    loss = WriteLoss(2, from_host="10.213.0.11")
    assert not loss.armed("healthy", "10.213.0.10") and loss.count("healthy", "10.213.0.10") is None
    assert loss.count("v1", "10.213.0.11") is None
    assert loss.count("v2", "10.213.0.11") is None  # another connection counts on its own
    assert loss.count("v1", "10.213.0.11") == 2 and not loss.armed("v1", "10.213.0.11")
    assert loss.count("v2", "10.213.0.11") == 2
    loss.forget("v1")  # a later connection of that host (the next run's victim) loses again
    assert loss.armed("v1", "10.213.0.11")


def test_lose_write_from_is_validated():
    base = {"listen_host": "10.213.0.2", "upstream_host": "10.213.0.1"}
    assert ReplicaConfig(**base, lose_write=1, lose_write_from="10.213.0.11").lose_write_from == "10.213.0.11"
    for bad, match in (({"lose_write": 1, "lose_write_from": "victim"}, "IP address"),
                       ({"lose_write_from": "10.213.0.11"}, "needs lose_write")):
        with pytest.raises(BadInput, match=match):
            ReplicaConfig(**base, **bad)


def test_replica_target_strings_name_the_victim_whose_write_is_lost():
    target = make_target(parse_target("replica:never,lose_write=1,lose_write_from=victim"))
    assert (target.lose_write, target.lose_write_from) == (1, "victim")
    assert target.name == "replica:never,lose_write=1,lose_write_from=victim"
    for bad in ("replica:never,lose_write=1,lose_write_from=healthy",
                "replica:never,lose_write_from=victim"):
        with pytest.raises(BadInput):
            make_target(parse_target(bad))
