"""The embedded Samba keeps everything it makes in its own directory (in memory,
harness.scratch): nothing in a path that two embedded Sambas, or the machine's own Samba,
would share."""

import subprocess
import sys

import pytest

from harness.scratch import SHM_DIR, scratch_root
from harness.targets.local import LocalSamba
from tests.conftest import scratch_dirs_of

pytestmark = pytest.mark.integration


def unix_listeners(netns: str) -> list[str]:
    """Paths of the listening or bound unix sockets of smbd and nmbd in ``netns``."""
    out = subprocess.run(["ip", "netns", "exec", netns, "ss", "-xlpH"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    return [line.split()[4] for line in out.splitlines()
            if ("nmbd" in line or "smbd" in line) and line.split()[4].startswith("/")]


def test_nmbd_and_smbd_sockets_are_in_the_servers_own_directory():
    """nmbd's socket for unexpected packets was /run/samba/nmbd/unexpected, shared: two
    embedded Sambas starting at once failed with NT_STATUS_ADDRESS_ALREADY_ASSOCIATED (CI,
    test_holding_controls, every run of a group exited 3)."""
    with LocalSamba() as server:
        assert server.dir.parent == scratch_root()
        if SHM_DIR.is_dir():
            assert server.dir.parent == SHM_DIR  # the journal-free root (harness.scratch)
        assert (server.dir / "nmbd" / "unexpected").is_socket()
        paths = unix_listeners(server.lab.server_netns)
        assert any(p.endswith("/nmbd/unexpected") for p in paths), paths
        assert all(p.startswith(f"{server.dir}/") for p in paths), paths


def test_three_embedded_sambas_started_at_once_all_come_up(tmp_path):
    """Three runs, each with its own embedded Samba, started together: each target comes up.
    Their verdicts are not judged (three runs on two cores with short phases judge the
    machine: a 0.5 s baseline may hold no 1-per-second smb_logon, an error)."""
    procs = [subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "baseline", "--quiet", "--target", "local",
         "--report-dir", str(tmp_path / str(n)), "--set", "phases.warmup_s=0.2",
         "--set", "phases.baseline_s=0.5", "--set", "phases.fault_s=0.5",
         "--set", "phases.recovery_s=0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(3)]
    outs = [(p.wait(120), p.stdout.read()) for p in procs]
    for rc, out in outs:
        assert rc != 4 and "ready in" in out and "unreachable" not in out, (rc, out[-600:])
    assert not [d for p in procs for d in scratch_dirs_of(p.pid)]
