"""The pause drop's evidence (pure, from hand-written rows) and the SMB1 lock request bytes."""

import os
import struct

import pytest

from harness.clients.smbops import smb1_locking_andx
from harness.drops import DROPS
from harness.drops.pause import paused_evidence, process_state
from harness.probes import PROBES
from harness.scenario.model import DEFAULT_RATES_HZ
from harness.server import ServerSocket

PEER = "10.213.0.11:40000"


def row(state="ESTAB", send_q=0):
    return ServerSocket(state, 0, send_q, "10.213.0.1:139", PEER)


def test_pause_evidence_needs_a_queued_established_socket_and_a_stopped_victim():
    detail = {"pid": 1234}
    queued = [row(send_q=300_000)]
    found = paused_evidence(queued, detail, "T")
    assert found["server_socket"] == "ESTAB" and found["send_q_bytes"] == 300_000
    assert found["victim_state"] == "stopped" and found["victim_pid"] == 1234
    assert paused_evidence(queued, detail, "S") is None  # running: not (yet) paused
    assert paused_evidence(queued, detail, None) is None  # gone
    assert paused_evidence([row(send_q=100)], detail, "T") is None  # nothing queued to it
    assert paused_evidence([row("CLOSE-WAIT", 300_000)], detail, "T") is None
    assert paused_evidence([], detail, "T") is None


def test_process_state_reads_proc():
    assert process_state(os.getpid()) in ("R", "S")
    assert process_state(None) is None
    assert process_state(2**22 + 12345) is None  # beyond pid_max: never a process


def test_pause_params_are_checked():
    assert DROPS["pause"]().after == "resume"
    assert DROPS["pause"](after="kill").after == "kill"
    with pytest.raises(ValueError, match="after must be one of resume, kill"):
        DROPS["pause"](after="later")


def test_smb1_locking_andx_bytes():
    params, data = smb1_locking_andx(fid=0x4001, pid=0x1234, offset=0x1_0000_0002, length=1,
                                     unlock=False)
    assert params == bytes.fromhex("ff000000" "0140" "10" "00" "00000000" "0000" "0100")
    assert data == struct.pack("<HHIIII", 0x1234, 0, 1, 2, 0, 1)
    params, _ = smb1_locking_andx(0x4001, 0x1234, 0, 1, unlock=True)
    assert params[-4:] == bytes.fromhex("0100" "0000")  # one unlock, no lock


def test_open_and_lock_probes_are_on_by_default():
    assert DEFAULT_RATES_HZ["smb_open"] > 0 and PROBES["smb_open"].needs_session
    assert DEFAULT_RATES_HZ["smb_lock"] > 0 and PROBES["smb_lock"].needs_session
