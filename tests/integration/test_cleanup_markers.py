"""cleanup removes only what an owner record proves a run's own (harness.lab.owner), never by
a pid alone, reports what it could not remove and then exits 3. Real namespaces, firewall
rules and temp dirs; each test uses a state directory of its own, so the other runs on the
machine are unknown to it and never touched (even by `cleanup --all`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.errors import InfraError
from harness.lab import firewall, netns
from tests.conftest import iptables_rules

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
REGISTER = "from harness.lab import owner; owner.register()"


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A private owner-record directory, for this process and the commands it starts."""
    d = tmp_path / "state"
    monkeypatch.setenv("NBT_HARNESS_STATE_DIR", str(d))
    monkeypatch.setattr("harness.lab.owner.STATE_DIR", d / "owners")
    return d / "owners"


def cleanup(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "cleanup", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO, check=False)


def spawn_owner(register: bool = True, live: bool = False) -> subprocess.Popen:
    code = (REGISTER if register else "pass") + ("; import time; time.sleep(60)" if live else "")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    if not live:
        proc.wait(30)
    return proc


@pytest.fixture
def made():
    """Names of namespaces and temp dirs a test made: removed at the end, whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        path = Path(name)
        if path.is_absolute():
            shutil.rmtree(path, ignore_errors=True)
            continue
        netns_path = Path(netns.NETNS_DIR) / name
        if netns_path.is_dir() and not netns_path.is_mount():
            shutil.rmtree(netns_path, ignore_errors=True)
        netns.delete_netns(name)


def add_netns(name: str, made: list[str]) -> None:
    made.append(name)
    netns.sh("ip", "netns", "add", name)


def test_a_namespace_with_no_owner_record_or_another_pid_namespaces_is_kept(state, made):
    """A dead pid in the name proved nothing: the namespace may be a live run's of another
    pid namespace (where that pid is alive), or not the harness's at all."""
    no_record = spawn_owner(register=False).pid
    other_ns = spawn_owner().pid
    record = json.loads((state / f"{other_ns}.json").read_text())
    (state / f"{other_ns}.json").write_text(json.dumps({**record, "pidns": record["pidns"] + 1}))
    add_netns(f"nbth-{no_record}-1-srv", made)
    add_netns(f"nbth-{other_ns}-1-srv", made)
    done = cleanup()
    assert done.returncode == 0, done.stderr
    assert f"nbth-{no_record}-1-srv" in netns.list_netns(), done.stdout
    assert f"nbth-{other_ns}-1-srv" in netns.list_netns(), done.stdout
    assert f"kept netns nbth-{no_record}-1-srv: no owner record" in done.stdout
    assert f"kept netns nbth-{other_ns}-1-srv: its owner (pid {other_ns}) ran in another pid namespace" \
        in done.stdout


def test_an_ended_runs_namespace_and_dir_go_and_all_takes_a_live_runs_temp_dir(state, made):
    ended = spawn_owner().pid
    add_netns(f"nbth-{ended}-1-srv", made)
    ended_dir = Path(tempfile.mkdtemp(prefix=f"nbth-{ended}-events-"))
    made.append(str(ended_dir))
    # the embedded Samba's directory is in memory (harness.scratch): cleanup looks there too
    ended_samba = Path(tempfile.mkdtemp(prefix=f"nbth-{ended}-samba-", dir="/dev/shm"))
    made.append(str(ended_samba))
    live = spawn_owner(live=True)
    try:
        deadline = time.monotonic() + 20
        while not (state / f"{live.pid}.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        live_dir = Path(tempfile.mkdtemp(prefix=f"nbth-{live.pid}-events-"))
        made.append(str(live_dir))
        done = cleanup()
        assert done.returncode == 0, done.stderr
        assert f"nbth-{ended}-1-srv" not in netns.list_netns() and not ended_dir.exists()
        assert not ended_samba.exists(), done.stdout
        assert live_dir.exists()  # a live run's: only --all
        assert not (state / f"{ended}.json").exists()  # nothing of it left: its record goes too
        done = cleanup("--all")  # safe here: only owners recorded in this test's state dir
        assert done.returncode == 0, done.stderr
        assert not live_dir.exists(), done.stdout  # the README says --all removes them
    finally:
        live.kill()
        live.wait(10)


def test_what_cleanup_cannot_remove_is_reported_and_it_exits_3(state, made):
    """`ip netns del` used to run unchecked: cleanup said 'removed' and exited 0."""
    ended = spawn_owner().pid
    name = f"nbth-{ended}-1-stuck"
    stuck = Path(netns.NETNS_DIR) / name  # a directory with something in it: unlink fails
    stuck.mkdir(parents=True)
    (stuck / "x").write_text("x")
    made.append(name)
    done = cleanup()
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert f"could not remove netns {name}" in done.stderr and "Traceback" not in done.stderr
    assert f"removed netns {name}" not in done.stdout and "1 could not be removed" in done.stdout
    assert (state / f"{ended}.json").exists()  # kept: it still proves the leftover ours


def test_delete_netns_never_kills_a_pid_that_is_no_longer_in_the_namespace(made, monkeypatch):
    """The pids were listed, then killed: one reused meanwhile by another process would have
    been killed too. Here the listing names a process that is not in the namespace."""
    name = f"nbth-{os.getpid()}-77-reuse"
    add_netns(name, made)
    bystander = subprocess.Popen(["sleep", "30"])
    real_sh = netns.sh

    def listing(*argv, **kw):
        if argv[:3] == ("ip", "netns", "pids"):
            return f"{bystander.pid}\n"
        return real_sh(*argv, **kw)

    monkeypatch.setattr(netns, "sh", listing)
    try:
        assert netns.delete_netns(name) is None
        assert name not in netns.list_netns()
        time.sleep(0.1)
        assert bystander.poll() is None, "a process outside the namespace was killed"
    finally:
        bystander.kill()
        bystander.wait(10)


def test_a_firewall_rule_that_cannot_be_deleted_is_an_error_not_silence(made, monkeypatch):
    """`iptables -D` ran unchecked: a partition's heal (remove_cuts of its own rules) that
    failed went unnoticed, the victim still cut off."""
    name = f"nbth-{os.getpid()}-78-fw"
    add_netns(name, made)
    firewall.insert_drop("INPUT", [], os.getpid(), netns=name)
    real_sh = firewall.sh

    def failing_delete(*argv, **kw):
        if "-D" in argv:  # as netns.sh does with a failing command
            if kw.get("check", True):
                raise InfraError("iptables: Resource temporarily unavailable.")
            return ""
        return real_sh(*argv, **kw)

    monkeypatch.setattr(firewall, "sh", failing_delete)
    with pytest.raises(InfraError, match="cannot remove iptables rule INPUT"):
        firewall.remove_cuts(os.getpid(), netns=name)
    left: list[str] = []
    assert firewall.remove_cuts(os.getpid(), netns=name, left=left) == 0 and len(left) == 1
    monkeypatch.setattr(firewall, "sh", real_sh)
    assert firewall.remove_cuts(os.getpid(), netns=name) == 1
    assert f"nbth-{os.getpid()}-cut" not in iptables_rules(name)


def test_delete_netns_kills_the_processes_in_the_namespace(made):
    """The other side of the pid check above: a process really in the namespace is killed
    (``ip netns del`` alone would leave it running)."""
    name = f"nbth-{os.getpid()}-78-inside"
    add_netns(name, made)
    inside = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        while not netns.sh("ip", "netns", "pids", name).split() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert netns.delete_netns(name) is None
        assert inside.wait(5) is not None, "the process in the namespace outlived it"
        assert name not in netns.list_netns()
    finally:
        if inside.poll() is None:
            inside.kill()
            inside.wait(10)
