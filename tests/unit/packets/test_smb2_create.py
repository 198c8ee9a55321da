"""SMB2 CREATE contexts, CREATE response and LOCK body against literal bytes ([MS-SMB2]
2.2.13.2, 2.2.14, 2.2.26)."""

import struct

import pytest

from harness.packets.smb2 import SMB2Error
from harness.packets.smb2_create import (
    LEASE_RWH,
    LOCK_EXCLUSIVE,
    LOCK_FAIL_IMMEDIATELY,
    chain,
    durable_v1,
    durable_v2,
    lease_state,
    lease_v1,
    lease_v2,
    lock_request,
    parse_contexts,
    parse_create_response,
)

KEY = bytes(range(16))


def test_durable_v1_bytes():
    raw = durable_v1()
    assert raw == (b"\x00\x00\x00\x00" b"\x10\x00" b"\x04\x00" b"\x00\x00" b"\x18\x00"
                   b"\x10\x00\x00\x00" b"DHnQ" + bytes(4) + bytes(16))
    assert len(raw) == 40


def test_lease_v1_and_v2_bytes():
    v1 = lease_v1(KEY)
    assert v1[16:20] == b"RqLs" and v1[10:12] == b"\x18\x00" and v1[12:16] == b"\x20\x00\x00\x00"
    assert v1[24:40] == KEY and v1[40:44] == b"\x07\x00\x00\x00" and len(v1) == 56
    v2 = lease_v2(KEY, epoch=3)
    assert v2[12:16] == b"\x34\x00\x00\x00"  # 52 bytes of data
    assert v2[40:44] == b"\x07\x00\x00\x00" and v2[56:72] == bytes(16) and v2[72:74] == b"\x03\x00"
    assert len(v2) == 80  # 24 + 52, padded to 8


def test_durable_v2_bytes():
    guid = b"\xaa" * 16
    raw = durable_v2(guid, timeout_ms=4000, persistent=True)
    assert raw[16:20] == b"DH2Q" and raw[12:16] == b"\x20\x00\x00\x00"
    assert raw[24:28] == b"\xa0\x0f\x00\x00" and raw[28:32] == b"\x02\x00\x00\x00"
    assert raw[32:40] == bytes(8) and raw[40:56] == guid


def test_chain_sets_next_and_parses_back():
    buf = chain([lease_v2(KEY), durable_v2(b"\x01" * 16, 5000)])
    assert buf[:4] == struct.pack("<I", 80) and buf[80:84] == bytes(4)
    parsed = parse_contexts(buf)
    assert set(parsed) == {"RqLs", "DH2Q"}
    assert lease_state(parsed["RqLs"]) == LEASE_RWH
    assert parsed["DH2Q"][:4] == b"\x88\x13\x00\x00"


def _response(oplock: int, contexts: bytes) -> bytes:
    fixed = struct.pack("<HBBIQQQQQQII16sII", 89, oplock, 0, 2, 0, 0, 0, 0, 0, 0, 0x20, 0,
                        struct.pack("<QQ", 5, 6), 64 + 88 if contexts else 0, len(contexts))
    return fixed + contexts


def test_parse_create_response_with_lease_and_durable():
    body = _response(0xFF, chain([lease_v1(KEY, 3), durable_v1()]))
    r = parse_create_response(body)
    assert r["oplock_level"] == 0xFF and r["create_action"] == 2 and r["file_id"] == (5, 6)
    assert lease_state(r["contexts"]["RqLs"]) == 3 and "DHnQ" in r["contexts"]


def test_parse_create_response_without_contexts():
    assert parse_create_response(_response(9, b""))["contexts"] == {}


@pytest.mark.parametrize("body", [b"", bytes(87), _response(9, b"")[:-1] + b"",
                                  _response(9, durable_v1())[:-8]])
def test_bad_create_responses(body):
    with pytest.raises(SMB2Error):
        parse_create_response(body if len(body) >= 88 else body)


def test_bad_context_chain():
    ctx = bytearray(durable_v1())
    ctx[0] = 3  # Next not 8-aligned
    with pytest.raises(SMB2Error):
        parse_contexts(bytes(ctx) + durable_v1())


def test_lock_request_bytes():
    fid = struct.pack("<QQ", 1, 2)
    raw = lock_request(fid, [(0, 4096, LOCK_EXCLUSIVE | LOCK_FAIL_IMMEDIATELY)])
    assert raw[:8] == b"\x30\x00\x01\x00\x00\x00\x00\x00" and raw[8:24] == fid
    assert raw[24:48] == struct.pack("<QQII", 0, 4096, 0x12, 0) and len(raw) == 48
    with pytest.raises(ValueError):
        lock_request(fid, [])
