"""The pause drop leaves no stopped process behind, whatever ends the run: a runner stopped
by SIGTERM while the victim is stopped unwinds (exit 143), one killed by SIGKILL takes the
stopped victim and its waker with it (parent-death SIGKILL ends a stopped process too)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cmdline, scratch_dirs_of, wait_for
from tests.integration.test_exit_paths import REPO, leftovers

pytestmark = pytest.mark.integration


def state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for t in Path(f"/proc/{p}/task").iterdir()
                    for k in (t / "children").read_text().split()]
        except OSError:
            continue
        out += kids
        todo += kids
    return out


@pytest.mark.parametrize("how, code", [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_no_stopped_victim_outlives_its_run(tmp_path, how, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "pause", "--quiet", "--report-dir", str(tmp_path),
         "--set", "phases.warmup_s=0.5", "--set", "phases.baseline_s=1", "--set", "phases.fault_s=20"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        stopped = wait_for(lambda: [p for p in descendants(proc.pid) if state(p) == "T"],
                           "the stopped victim", timeout_s=60)
        family = [p for p in descendants(proc.pid)  # the clients, not the target's daemons
                  if b"harness" in cmdline(p)]
        proc.send_signal(how)
        assert proc.wait(30) == code
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and any(state(p) not in (None, "Z") for p in family):
            time.sleep(0.05)
        assert not [p for p in stopped if state(p) == "T"], "a stopped victim was left behind"
        assert not [p for p in family if state(p) not in (None, "Z")], "a client outlived its run"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if how == signal.SIGKILL:  # what this dead run left (its namespaces, smbd in them)
            remove_leftovers_of(proc.pid)
    assert not leftovers(proc.pid)


def remove_leftovers_of(pid: int) -> None:
    """This one dead run's leftovers only (never `cleanup`, which acts on the whole machine)."""
    import shutil

    from harness.lab import netns

    for name in netns.list_netns():
        if name.startswith(f"nbth-{pid}-"):
            netns.delete_netns(name)
    for d in scratch_dirs_of(pid):
        shutil.rmtree(d, ignore_errors=True)
