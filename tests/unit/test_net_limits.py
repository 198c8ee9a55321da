"""Pure parts of #21's network findings: the READ size a server's grant allows, the replica's
lab addresses, and the verdict of a run whose acknowledged data came back wrong."""

import pytest

from harness.checkers.verdict import verdict
from harness.checkers.bounds import Bounds
from harness.clients.session import MAX_READ_BYTES, read_size_bytes
from harness.replica.config import lab_address


@pytest.mark.parametrize("dialect, granted, size", [
    ("2.0.2", 0xFFFFFFFF, 65536),  # no multi-credit READs on 2.0.2
    ("3.1.1", 0xFFFFFFFF, MAX_READ_BYTES),  # never more than 8 MiB, whatever is granted
    ("3.1.1", 1024 * 1024, 1024 * 1024),
    ("2.1", None, 65536), ("2.1", 0, 65536), ("2.1", -5, 65536), ("3.0", "x", 65536),
])
def test_read_size_never_trusts_the_grant(dialect, granted, size):
    assert read_size_bytes(dialect, granted) == size


@pytest.mark.parametrize("addr, lab", [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("10.213.0.2", True),
    ("10.213.5.9", True), ("0.0.0.0", False), ("::", False), ("10.214.0.1", False),
    ("192.0.2.1", False), ("fe80::1", False),
])
def test_lab_addresses(addr, lab):
    assert lab_address(addr) is lab


def _rw(seq, phase, ok=True, mismatch=False):
    invoke = {"type": "invoke", "process": "c1_smb_rw", "role": "healthy", "probe": "smb_rw",
              "seq": seq, "phase": phase, "t_s": seq * 0.1, "intended_s": seq * 0.1}
    done = {"type": "ok" if ok else "fail", "process": "c1_smb_rw", "role": "healthy",
            "probe": "smb_rw", "seq": seq, "phase": phase, "t_s": seq * 0.1 + 0.001,
            "latency_us": 1000.0}
    if not ok:
        done["error"] = "ReadBackMismatch: read back 4608 bytes at offset 0 that differ from the 512 written"
    return [invoke, done]


def test_no_samples_names_the_probe_s_most_frequent_error():
    events = [e for i, ph in enumerate(["baseline"] * 3 + ["fault"] * 3 + ["recovery"] * 3)
              for e in _rw(i, ph, ok=False)]
    result = verdict(events, Bounds(), ["smb_rw"], None, host_stall_us=None)
    assert result["verdict"] == "error"
    assert "smb_rw: no successful baseline samples (9 x ReadBackMismatch: read back 4608" in result["reason"]
