"""The replica's NBT stream framing, against literal bytes."""

from __future__ import annotations

import struct

import pytest

from harness.packets.nbt import MalformedPacket
from harness.replica.framing import Frame, FrameTracker, frame_header, smb_message_kind

SESSION_REQUEST_BYTES = (
    b"\x81\x00\x00\x44"
    b"\x20" + b"FDEFFCFGEFFCCACACACACACACACACACA" + b"\x00"  # SERVER<20>
    b"\x20" + b"EDEMEJEFEOFECACACACACACACACACAAA" + b"\x00"  # CLIENT<00>
)
POSITIVE_RESPONSE = b"\x82\x00\x00\x00"
KEEPALIVE = b"\x85\x00\x00\x00"


def test_frame_header_reads_24_bit_length_for_session_messages() -> None:
    assert frame_header(b"\x00\x00\x00\x05") == (0x00, 5)
    assert frame_header(b"\x00\x01\x00\x2a") == (0x00, 0x1002A)
    # Flag bits RFC 1002 reserves: direct TCP and Samba use them as length ([MS-SMB2] 2.1).
    assert frame_header(b"\x00\x80\x00\x00") == (0x00, 0x800000)
    assert frame_header(b"\x00\xff\xff\xff") == (0x00, 0xFFFFFF)


def test_frame_header_parses_other_types_strictly() -> None:
    assert frame_header(b"\x81\x00\x00\x44") == (0x81, 68)
    assert frame_header(POSITIVE_RESPONSE) == (0x82, 0)
    assert frame_header(KEEPALIVE) == (0x85, 0)
    with pytest.raises(MalformedPacket):
        frame_header(b"\x81\x02\x00\x00")  # reserved flag bit on a session request
    with pytest.raises(MalformedPacket):
        frame_header(b"GET ")  # not NBT


def test_whole_frames_in_one_chunk() -> None:
    t = FrameTracker()
    frames = t.feed(SESSION_REQUEST_BYTES + b"\x00\x00\x00\x03abc" + KEEPALIVE)
    assert [(f.packet_type, f.length) for f in frames] == [(0x81, 68), (0x00, 3), (0x85, 0)]
    assert frames[1].head == b"abc"
    assert not t.incomplete


def test_frame_split_at_every_byte_gives_the_same_frames() -> None:
    stream = SESSION_REQUEST_BYTES + b"\x00\x00\x00\x05hello" + b"\x00\x00\x00\x00" + KEEPALIVE
    expected = FrameTracker().feed(stream)
    t = FrameTracker()
    got: list[Frame] = []
    for i in range(len(stream)):
        got += t.feed(stream[i : i + 1])
        assert t.incomplete == (i + 1 not in (72, 81, 85, 89))  # frame boundaries
    assert got == expected
    assert [f.packet_type for f in got] == [0x81, 0x00, 0x00, 0x85]


def test_incomplete_header_and_incomplete_body() -> None:
    t = FrameTracker()
    assert t.feed(b"\x00\x00") == []
    assert t.incomplete and t.pending_type == 0x00
    assert t.feed(b"\x00\x0a" + b"12345") == []  # header says 10, 5 arrived
    assert t.incomplete and t.pending_type == 0x00
    assert t.feed(b"6789") == []
    assert t.incomplete
    frames = t.feed(b"0" + b"\x00\x00")  # completes it, starts the next header
    assert frames == [Frame(0x00, 10, b"1234567890")]
    assert t.incomplete
    assert t.feed(b"\x00\x00") == [Frame(0x00, 0, b"")]
    assert not t.incomplete and t.pending_type is None


def test_head_keeps_only_the_first_bytes_of_a_large_body() -> None:
    t = FrameTracker(peek_len=8)
    body = bytes(range(256)) * 512  # 128 KiB: needs the 17th length bit and more
    header = b"\x00" + len(body).to_bytes(3, "big")
    assert t.feed(header + body[:3]) == []
    assert t.feed(body[3:70000]) == []
    frames = t.feed(body[70000:])
    assert frames == [Frame(0x00, len(body), body[:8])]


def test_not_nbt_turns_opaque_and_reports_nothing_more() -> None:
    t = FrameTracker()
    assert t.feed(b"\x00\x00\x00\x01x" + b"\x99\x00\x00\x00") == [Frame(0x00, 1, b"x")]
    assert t.opaque and not t.incomplete
    assert t.feed(b"\x00\x00\x00\x01x") == []


def smb2_header(command: int, *, status: int = 0, flags: int = 0, message_id: int = 7) -> bytes:
    """A 64-byte SMB2 sync header ([MS-SMB2] 2.2.1.2), with the fields the classifier reads."""
    return (
        b"\xfeSMB"
        + struct.pack("<HHIHHIIQ", 64, 1, status, command, 1, flags, 0, message_id)
        + b"\x00" * 32
    )


def smb1_header(command: int, *, flags: int = 0) -> bytes:
    """A 32-byte SMB1 header ([MS-CIFS] 2.2.3.1)."""
    return b"\xffSMB" + bytes([command]) + b"\x00" * 4 + bytes([flags]) + b"\x00" * 22


def test_smb2_requests_responses_interim_and_breaks() -> None:
    assert smb_message_kind(smb2_header(0x0008), from_client=True) == "request"  # READ
    assert smb_message_kind(smb2_header(0x000C), from_client=True) == "no_reply"  # CANCEL
    assert smb_message_kind(smb2_header(0x0008, flags=1), from_client=False) == "response"
    interim = smb2_header(0x0008, status=0x103, flags=0x3)  # ASYNC + STATUS_PENDING
    assert smb_message_kind(interim, from_client=False) == "unsolicited"
    final = smb2_header(0x0008, status=0, flags=0x3)  # the async final response
    assert smb_message_kind(final, from_client=False) == "response"
    brk = smb2_header(0x0012, flags=1, message_id=0xFFFFFFFFFFFFFFFF)  # oplock break
    assert smb_message_kind(brk, from_client=False) == "unsolicited"


def test_smb1_requests_responses_and_no_reply_requests() -> None:
    assert smb_message_kind(smb1_header(0x2B), from_client=True) == "request"  # ECHO
    assert smb_message_kind(smb1_header(0x2B, flags=0x98), from_client=False) == "response"
    assert smb_message_kind(smb1_header(0xA4), from_client=True) == "no_reply"  # NT_CANCEL
    assert smb_message_kind(smb1_header(0x33), from_client=True) == "no_reply"  # TRANS2_SECONDARY
    # server-sent oplock break: a LOCKING_ANDX *request* (no reply flag)
    assert smb_message_kind(smb1_header(0x24, flags=0x18), from_client=False) == "unsolicited"
    # client's oplock release: LOCKING_ANDX, TypeOfLock OPLOCK_RELEASE, no locks
    words = (
        b"\x08"
        + b"\xff\x00\x00\x00"
        + b"\x01\x40"
        + b"\x02\x00"
        + b"\x00" * 4
        + b"\x00\x00\x00\x00"
    )
    assert smb_message_kind(smb1_header(0x24) + words, from_client=True) == "no_reply"
    lock = (  # an oplock release that also takes a lock: the server answers it
        b"\x08"
        + b"\xff\x00\x00\x00"
        + b"\x01\x40"
        + b"\x02\x00"
        + b"\x00" * 4
        + b"\x00\x00\x01\x00"
    )
    assert smb_message_kind(smb1_header(0x24) + lock, from_client=True) == "request"


def test_other_payloads_count_by_direction() -> None:
    assert smb_message_kind(b"ping", from_client=True) == "request"
    assert smb_message_kind(b"ping", from_client=False) == "response"
    assert (
        smb_message_kind(b"\xfdSMB" + b"\x00" * 48, from_client=False) == "response"
    )  # SMB3 transform
    assert (
        smb_message_kind(b"\xfeSMB\x40\x00", from_client=False) == "response"
    )  # too short to read
    assert smb_message_kind(b"", from_client=True) == "request"
