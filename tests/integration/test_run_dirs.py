"""Where a real run's files go, what it removes, and what it shows while it runs."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading

import pytest

from tests.conftest import CHILD_PYTEST

pytestmark = pytest.mark.integration
SHORT = ["--set", "phases.warmup_s=0.2", "--set", "phases.baseline_s=1.5",
         "--set", "phases.fault_s=1.0", "--set", "phases.recovery_s=1.0"]


def test_scenario_named_dotdot_stays_inside_the_report_dir_and_progress_is_live(tmp_path):
    """`--set name=..` once made the runner remove report_dir/.. recursively, as root."""
    parent = tmp_path / "a"
    parent.mkdir()
    (parent / "sentinel").write_text("x")
    report = parent / "rep"
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", "--report-dir",
                               str(report), "--set", "name=..", *SHORT],
                              stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120, check=False)
    finally:
        os.close(slave)
        reader.join(5)
        os.close(master)
    assert done.returncode == 0, done.stdout
    assert (parent / "sentinel").read_text() == "x"
    assert sorted(p.name for p in parent.iterdir()) == ["rep", "sentinel"]
    assert (report / "scenario" / "history.jsonl").is_file()
    doc = json.loads((report / "report.json").read_text())
    assert doc["scenarios"][0]["name"] == ".." and doc["server"].startswith("Samba 4.")
    # stderr is a terminal: one redrawn line (carriage returns, no newlines), then cleared
    live = b"".join(chunks).decode(errors="replace")
    assert "\r[1/1] ..: baseline" in live and "\r[1/1] ..: fault" in live, live[-500:]
    assert " ops, 0 errors" in live and live.endswith("\r\x1b[K")
    assert "progress " not in done.stdout  # plain lines only when not on a terminal


def test_report_dir_that_is_a_file_is_bad_input(tmp_path):
    f = tmp_path / "report"
    f.write_text("x")
    done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", "--report-dir", str(f)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "not a directory" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert f.read_text() == "x"


def test_password_env_is_not_inherited_by_children(tmp_path):
    """NBT_HARNESS_PASSWORD is read once and taken out of the environment: a child process
    the command starts (smbd, ip, docker, the replica, ...) does not see it."""
    code = ("import subprocess, sys\n"
            "from harness import cli\n"
            "cli.main(['list'])\n"
            "from harness.targets.password import read_password\nfrom harness.targets.remote_spec import parse_smb_url\n"
            "print('read', read_password(parse_smb_url('smb://u@h/s')) == 'hunter2-secret')\n"
            "sys.stdout.flush()\n"
            "subprocess.run(['cat', '/proc/self/environ'], check=True)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "NBT_HARNESS_PASSWORD": "hunter2-secret"})
    assert done.returncode == 0, done.stderr
    assert "read True" in done.stdout
    child_env = done.stdout.split("read True", 1)[1]
    assert "PATH=" in child_env and "hunter2-secret" not in child_env
    assert "NBT_HARNESS_PASSWORD" not in child_env


def test_password_env_is_not_inherited_under_pytest(tmp_path):
    (tmp_path / "test_env.py").write_text(
        "import os, subprocess\n"
        "def test_child():\n"
        "    assert 'NBT_HARNESS_PASSWORD' not in os.environ\n"
        "    env = subprocess.run(['cat', '/proc/self/environ'], capture_output=True).stdout\n"
        "    assert b'hunter2-secret' not in env and b'PATH=' in env\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", *CHILD_PYTEST,
                           str(tmp_path / "test_env.py")], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, check=False,
                          env={**os.environ, "NBT_HARNESS_PASSWORD": "hunter2-secret"})
    assert done.returncode == 0, done.stdout + done.stderr
