"""The command-line contract: exit codes, report.json fields, one-line errors."""

import json
import signal
import subprocess
import sys

import pytest

from harness.lab import netns
from tests.conftest import (
    FAST,
    iptables_rules,
    scratch_dirs_of,
    wait_for,
    wait_for_victim_host,
)
from tests.support.cli import harness_cli as cli

pytestmark = pytest.mark.integration
SETS = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]


def test_run_writes_the_report_contract(tmp_path):
    done = cli("run", "rst", "baseline", "--report-dir", str(tmp_path), *SETS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rst: PASS" in done.stdout and "probe" in done.stdout and "p99 ms" in done.stdout
    doc = json.loads((tmp_path / "report.json").read_text())
    names = [s["name"] for s in doc["scenarios"]]
    assert names == ["rst", "baseline"]
    rst = doc["scenarios"][0]
    assert rst["verdict"] == "pass" and rst["reason"]
    assert rst["drop"]["mode"] == "rst" and rst["drop"]["at_s"] > 0 and rst["drop"]["evidence"]
    for probe in ("nbstat", "nbt_session", "smb_echo", "smb_rw"):
        row = rst["probes"][probe]["fault"]
        assert {"count", "errors", "p50_us", "p99_us", "max_us", "host_stall_corrected", "hdr"} <= set(row)
        assert row["p99_basis"] == ("p99" if row["count"] - row["errors"] >= 100 else "max")
    assert rst["violations"] == []
    assert (tmp_path / "report.html").is_file()
    # the password of the embedded user is random; it must appear nowhere
    assert "password" not in json.dumps(doc).lower()


def test_failed_bounds_exit_1(tmp_path):
    # Bounds no real server can meet: 1 us. The verdict must be fail, exit code 1.
    done = cli("run", "baseline", "--report-dir", str(tmp_path), *SETS,
               "--set", "bounds.p99_floor_ms=0.001", "--set", "bounds.p99_factor=0.01",
               "--set", "bounds.max_floor_ms=0.001", "--set", "bounds.max_factor=0.01")
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    v = doc["scenarios"][0]["violations"]
    assert v and {"probe", "phase", "stat", "observed_us", "limit_us"} <= set(v[0])


@pytest.mark.parametrize("args, message", [
    (["run", "nosuch"], "unknown scenario 'nosuch'"),
    (["run", "rst", "--target", "moon"], "invalid target 'moon'"),
    (["run", "rst", "--set", "phases.fault_s=-1"], "fault_s"),
    (["run", "rst", "--set", "nokey"], "KEY=VALUE"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exit_2_one_line(args, message):
    done = cli(*args, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_broken_scenario_file_exit_2(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("name = 'broken'\n[drop]\nmode = 'meteor'\n")
    done = cli("run", str(bad), timeout=30)
    assert done.returncode == 2 and "unknown drop mode 'meteor'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_list_has_one_line_per_scenario():
    done = cli("list", timeout=30)
    assert done.returncode == 0
    stems = [line.split()[0] for line in done.stdout.splitlines()]
    assert {"baseline", "rst", "fin", "kill", "halfframe", "stall"} <= set(stems)


def test_sigterm_and_sigkill_leave_nothing_behind(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "stall", "--report-dir",
                             str(tmp_path), *SETS], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_victim_host(proc.pid, proc)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert not [n for n in netns.list_netns() if n.startswith(f"nbth-{proc.pid}-")]
    assert not scratch_dirs_of(proc.pid)

    # SIGKILL in the middle of a blackhole, once its firewall cut is in place
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "blackhole", "--report-dir",
                             str(tmp_path), *SETS], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    victim_ns = wait_for_victim_host(proc.pid, proc)
    wait_for(lambda: "nbth-" in iptables_rules(victim_ns), "the blackhole's iptables cut")
    proc.kill()
    proc.wait(10)
    left = [n for n in netns.list_netns() if n.startswith(f"nbth-{proc.pid}-")]
    assert left, "SIGKILL should leave the lab behind for cleanup to find"
    done = cli("cleanup", timeout=60)
    assert done.returncode == 0, done.stderr
    assert not [n for n in netns.list_netns() if n.startswith(f"nbth-{proc.pid}-")]
    assert not scratch_dirs_of(proc.pid)
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    assert f"nbth-{proc.pid}-" not in ps  # no smbd/nmbd of that run
    assert f"nbth-{proc.pid}-cut" not in iptables_rules(None)  # no rule left in our own namespace
