"""Bad holding combinations are refused before anything starts: one line, exit 2."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, words", [
    (["rst", "--set", "probes.smb_contend=5"], "probe smb_contend needs a holding"),
    (["holdings/lease_rwh-rst", "--set", "dialect=smb1"], "needs SMB 2.1 or later"),
    (["holdings/deny_write-rst", "--set", "victim.holds=nope"], "unknown holding 'nope'"),
])
def test_bad_holding_combinations_are_one_line_exit_2(args, words, tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness", "run", *args, "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr
