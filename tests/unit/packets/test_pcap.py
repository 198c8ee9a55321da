"""The pcap writer against literal bytes, and the bounded ring of frames a capture keeps."""

import pytest

from harness.packets.pcap import Frame, FrameRing, RecentDuplicates, pcap_bytes

IP = bytes.fromhex("4500001c000140004011" "0000" "0ad5000a" "0ad50001") + bytes(8)  # 28 bytes


def test_file_header_and_one_record_are_libpcaps_layout():
    out = pcap_bytes([Frame(1_700_000_000.25, IP)])
    assert out[:24] == bytes.fromhex(
        "d4c3b2a1" "0200" "0400" "00000000" "00000000" "ffff0000" "65000000")
    assert out[24:40] == bytes.fromhex(
        "00f15365" "90d00300" "1c000000" "1c000000")  # 1700000000 s, 250000 us, 28, 28
    assert out[40:] == IP


def test_a_frame_longer_than_the_snaplen_is_cut_and_says_its_length():
    out = pcap_bytes([Frame(0.0, IP)], snaplen=20)
    assert out[16:20] == (20).to_bytes(4, "little")
    assert out[24 + 8:24 + 16] == bytes.fromhex("14000000" "1c000000")
    assert len(out) == 24 + 16 + 20


def test_no_frames_is_a_valid_empty_file():
    assert len(pcap_bytes([])) == 24


def test_ring_keeps_the_newest_frames_within_its_cap():
    ring = FrameRing(cap_bytes=3 * (16 + 28))
    for i in range(5):
        ring.add(Frame(float(i), IP))
    assert [f.t_s for f in ring.frames()] == [2.0, 3.0, 4.0]
    assert ring.size_bytes == 3 * 44 and ring.dropped == 2
    ring.add(Frame(9.0, bytes(100)))  # 116 bytes: all three older ones go
    assert [f.t_s for f in ring.frames()] == [9.0] and ring.dropped == 5


def test_ring_refuses_a_frame_bigger_than_its_cap_and_a_bad_cap():
    ring = FrameRing(cap_bytes=40)
    ring.add(Frame(0.0, IP))
    assert len(ring) == 0 and ring.dropped == 1
    with pytest.raises(ValueError):
        FrameRing(0)


def test_a_copy_seen_microseconds_later_is_a_duplicate_a_retransmission_is_not():
    dup = RecentDuplicates(window_s=0.005)
    assert not dup.seen(10.0, IP)
    assert dup.seen(10.0001, IP)  # the same packet on the bridge port and the bridge
    assert not dup.seen(10.0002, IP[:-1] + b"\x01")
    assert not dup.seen(10.3, IP)  # 300 ms later: a retransmission, kept

