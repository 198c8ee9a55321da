"""The durable reconnect contexts a reclaiming victim sends, how the replica spots them in an
SMB2 CREATE request, and the success it answers them with ([MS-SMB2] 2.2.13, 2.2.13.2.4,
2.2.13.2.12, 2.2.14), against literal bytes and impacket's own parser."""

import struct

import pytest
from impacket.smb3 import SMB2Packet
from impacket.smb3structs import SMB2_CREATE, SMB2Create_Response

from harness.packets.smb2 import SMB2Error
from harness.packets.smb2_create import (
    chain,
    create_request_contexts,
    durable_reconnect,
    durable_v1,
    durable_v1_reconnect,
    durable_v2_reconnect,
    granted_create_response,
    lease_v1,
    parse_create_response,
)

FILE_ID = struct.pack("<QQ", 0x11, 0x22)
GUID = bytes(range(16, 32))
HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


def create_request(contexts: bytes, name: str = "nbth-held.dat", oplock: int = 9,
                   command: int = SMB2_CREATE) -> bytes:
    """An SMB2 CREATE request as impacket lays it out (holdings.raw_create): the fixed part,
    the name, padding to 8, the contexts (offsets from the header)."""
    header = HEADER.pack(b"\xfeSMB", 64, 1, 0, command, 1, 0, 0, 7, 0, 0x33, 0x44, bytes(16))
    raw_name = name.encode("utf-16le")
    pad = bytes(-(64 + 56 + len(raw_name)) % 8) if contexts else b""
    ctx_off = 64 + 56 + len(raw_name) + len(pad) if contexts else 0
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, oplock, 2, 0, 0, 0x80000000 | 0x40000000, 0x80,
                       1, 1, 0x40, 64 + 56, len(raw_name), ctx_off, len(contexts))
    return header + body + raw_name + pad + contexts


def test_reconnect_contexts_bytes():
    v1 = durable_v1_reconnect(FILE_ID)
    assert v1 == (b"\x00\x00\x00\x00" b"\x10\x00" b"\x04\x00" b"\x00\x00" b"\x18\x00"
                  b"\x10\x00\x00\x00" b"DHnC" + bytes(4) + FILE_ID)
    v2 = durable_v2_reconnect(FILE_ID, GUID)
    assert v2[16:20] == b"DH2C" and struct.unpack_from("<I", v2, 12)[0] == 36
    assert v2[24:60] == FILE_ID + GUID + bytes(4) and len(v2) % 8 == 0
    with pytest.raises(ValueError):
        durable_v1_reconnect(FILE_ID[:8])
    with pytest.raises(ValueError):
        durable_v2_reconnect(FILE_ID, GUID[:4])


def test_a_reconnect_create_is_spotted_with_the_file_id_it_reclaims():
    for context, name in ((durable_v1_reconnect(FILE_ID), "DHnC"),
                          (durable_v2_reconnect(FILE_ID, GUID), "DH2C")):
        request = create_request(chain([lease_v1(bytes(16)), context]))
        assert set(create_request_contexts(request)) == {"RqLs", name}
        assert durable_reconnect(request) == (name, FILE_ID)


def test_other_creates_and_other_messages_are_no_reconnect():
    assert durable_reconnect(create_request(chain([durable_v1()]))) is None  # a durable open
    assert durable_reconnect(create_request(b"")) is None
    assert create_request_contexts(create_request(b"")) == {}
    write = create_request(chain([durable_v1_reconnect(FILE_ID)]), command=9)
    assert durable_reconnect(write) is None
    assert durable_reconnect(b"\xffSMB" + bytes(100)) is None
    broken = create_request(chain([durable_v1_reconnect(FILE_ID)]))[:-8]
    assert durable_reconnect(broken) is None
    with pytest.raises(SMB2Error):
        create_request_contexts(broken)


def test_the_granted_answer_is_a_success_impacket_and_our_parser_read_back():
    request = create_request(chain([durable_v2_reconnect(FILE_ID, GUID)]), oplock=9)
    answer = granted_create_response(request, FILE_ID)
    packet = SMB2Packet(answer)
    assert packet["Status"] == 0 and packet["Command"] == SMB2_CREATE
    assert packet["MessageID"] == 7 and packet["TreeID"] == 0x33 and packet["SessionID"] == 0x44
    assert packet["Flags"] & 1 and packet["CreditRequestResponse"] >= 1
    assert SMB2Create_Response(packet["Data"])["FileID"].getData() == FILE_ID
    parsed = parse_create_response(answer[64:])
    assert parsed == {"oplock_level": 9, "create_action": 1, "file_id": (0x11, 0x22),
                      "contexts": {}}
    with pytest.raises(ValueError):
        granted_create_response(request, FILE_ID[:4])
