"""The pcap file of a scenario: private, never written through a link; which verdicts keep one."""

import os
import stat

from harness.packets.pcap import Frame, pcap_bytes
from harness.run.pcaps import wanted, write_pcap
from tests.unit.packets.test_pcap import IP


def test_write_pcap_is_private_and_replaces_a_symlink_instead_of_following_it(tmp_path):
    victim = tmp_path / "elsewhere"
    victim.write_bytes(b"keep")
    link = tmp_path / "capture.pcap"
    link.symlink_to(victim)
    write_pcap(link, [Frame(0.0, IP)])
    assert victim.read_bytes() == b"keep"
    assert not link.is_symlink() and link.read_bytes() == pcap_bytes([Frame(0.0, IP)])
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["capture.pcap", "elsewhere"]  # no temp file left


def test_which_verdicts_keep_a_pcap():
    assert wanted("fail", "fail") and not wanted("fail", "pass") and not wanted("fail", "error")
    assert wanted("always", "pass") and not wanted("never", "fail")
