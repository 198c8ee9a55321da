"""SMB2 ECHO against literal bytes ([MS-SMB2] 2.2.1.2, 2.2.28)."""

import pytest

from harness.packets.smb2 import SMB2_ECHO, SMB2Error, echo_request, parse_header


def test_echo_request_bytes():
    raw = echo_request(0x0102030405)
    assert len(raw) == 68
    assert raw[:4] == b"\xfeSMB" and raw[4:6] == b"\x40\x00"  # StructureSize 64
    assert raw[6:8] == b"\x01\x00"  # CreditCharge 1
    assert raw[12:14] == b"\x0d\x00" and raw[14:16] == b"\x01\x00"  # ECHO, 1 credit asked
    assert raw[16:20] == bytes(4)  # flags: a request, unsigned
    assert raw[24:32] == bytes([5, 4, 3, 2, 1, 0, 0, 0])  # MessageId, little endian
    assert raw[40:48] == bytes(8)  # SessionId 0: an echo needs no session
    assert raw[64:] == b"\x04\x00\x00\x00"


def test_parse_an_echo_response_header():
    answer = bytearray(echo_request(7))
    answer[16] = 0x01  # SMB2_FLAGS_SERVER_TO_REDIR
    assert parse_header(bytes(answer)) == (SMB2_ECHO, 0, 7, 1)


@pytest.mark.parametrize("data", [b"", b"\xfeSMB" + bytes(10), b"\xffSMB" + bytes(64)])
def test_not_an_smb2_header(data):
    with pytest.raises(SMB2Error):
        parse_header(data)
