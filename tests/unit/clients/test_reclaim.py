"""The victim's reclaim, pure parts: the reconnect context that follows its holding, and the
status name an answer is recorded with."""

import pytest
from impacket import nmb, smb3
from impacket.nt_errors import STATUS_OBJECT_NAME_NOT_FOUND
from impacket.smbconnection import SessionError

from harness.clients.holdings import HeldOpen
from harness.clients.reclaim import reconnect_context, status_name


def test_the_reconnect_context_follows_the_holding():
    v1 = HeldOpen("durable_v1", "f.dat", bytes(16))
    v2 = HeldOpen("durable_v2", "f.dat", bytes(16), bytes(range(16)))
    assert reconnect_context(v1)[16:20] == b"DHnC"
    assert reconnect_context(v2)[16:20] == b"DH2C" and reconnect_context(v2)[40:56] == bytes(range(16))
    with pytest.raises(ValueError):
        reconnect_context(HeldOpen("batch_oplock", "f.dat", bytes(16)))


def test_an_answer_is_named_by_its_nt_status_else_timeout_or_error():
    assert status_name(smb3.SessionError(STATUS_OBJECT_NAME_NOT_FOUND)) == "STATUS_OBJECT_NAME_NOT_FOUND"
    assert status_name(SessionError(STATUS_OBJECT_NAME_NOT_FOUND)) == "STATUS_OBJECT_NAME_NOT_FOUND"
    assert status_name(smb3.SessionError(0xC0FFEE00)) == "0xc0ffee00"
    assert status_name(nmb.NetBIOSTimeout()) == "timeout"
    assert status_name(OSError("reset")) == "error"
