"""A Locust crowd beside the probes: 200 users on two local workers, each in a lab host of its
own, carried through an rst run on the embedded Samba (a pass, the crowd's rows in report.json
and report.html), the same against the Q186873 replica (a fail, the stall in the crowd's
fault row), and a worker killed in the fault phase (named in the result; the run ends on
time)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from glob import glob
from pathlib import Path

import pytest

from harness.targets.replica import DEFAULT_HOLD_S
from tests.conftest import FAST, scratch_dirs_of, still_alive, wait_for
from tests.support.cli import harness_cli

pytestmark = pytest.mark.integration

CROWD = {"crowd.users": 200, "crowd.workers": 2, "crowd.spawn_rate": 200}
# 120 crowd operations in the baseline (200 users, one operation per 5 s each); one in flight
# when the fault begins is the fault's (harness.crowd.recorder), not the baseline's
CROWD_PHASES = {**FAST, "phases.baseline_s": 3.0}
# the replica's 1 s freeze after the rst, with 1 s to spare, in the judged phases
REPLICA = {**CROWD_PHASES, "phases.fault_s": DEFAULT_HOLD_S + 1.0}


def sets(overrides: dict) -> list[str]:
    return [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]


def test_the_crowd_passes_rst_on_embedded_samba(tmp_path):
    done = harness_cli("run", "rst", "--target", "local", "--report-dir", tmp_path,
                       *sets({**CROWD_PHASES, **CROWD}), timeout=180)
    report = json.loads((tmp_path / "report.json").read_text())
    entry = report["scenarios"][0]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert entry["verdict"] == "pass", entry["reason"]
    crowd = entry["crowd"]
    assert crowd["workers"] == ["crowd1", "crowd2"] and crowd["lost"] == []
    assert crowd["spawned"] == 200
    for phase in ("baseline", "fault", "recovery"):
        row = crowd["rows"][phase]
        assert row["count"] > 0 and row["errors"] == 0 and row["workers"] == 2, row
        assert row["p50_us"] is not None and row["max_us"] >= row["p50_us"]
    assert "crowd: 200 of 200 users on 2 workers (crowd1, crowd2)" in done.stdout
    html = (tmp_path / "report.html").read_text()
    assert 'data-crowd="1"' in html and "<td>crowd</td><td>fault</td>" in html


def test_the_crowd_shows_the_replicas_stall(nbt_run):
    entry = nbt_run("rst", target="replica:any", overrides={**REPLICA, **CROWD})
    assert entry["verdict"] == "fail", entry["reason"]
    crowd = entry.to_json()["crowd"]
    assert crowd["lost"] == []
    base, fault = crowd["rows"]["baseline"], crowd["rows"]["fault"]
    # the freeze holds every session: the crowd's operations wait it out (or time out)
    assert fault["errors"] > 0 or fault["max_us"] > 10 * base["p99_us"], (base, fault)
    assert any(v["probe"] == "crowd" and v["phase"] == "fault" for v in entry["violations"]), \
        entry["violations"]
    assert crowd_children() == {}  # the master and the workers are gone with the run


def crowd_children() -> dict[int, list[bytes]]:
    """pid -> argv of this process's crowd processes (master and local workers) running."""
    found = {}
    for status in glob("/proc/[0-9]*/cmdline"):
        try:
            argv = Path(status).read_bytes().split(b"\0")
            ppid = int(Path(status).with_name("stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and any(a.startswith(b"harness.crowd.") for a in argv):
            found[int(Path(status).parent.name)] = argv
    return found


def crowd_worker_pid(name: str) -> int | None:
    """The pid of this process's local crowd worker ``name``, if it runs."""
    return next((pid for pid, argv in crowd_children().items()
                 if b"harness.crowd.worker" in argv and name.encode() in argv), None)


def runner_event_files(pid: int) -> list[Path]:
    """The runner's event files of harness process ``pid``'s running scenarios."""
    return [f for d in scratch_dirs_of(pid, "events-") if (f := d / "events-runner.jsonl").exists()]


def t0_of_this_run() -> float | None:
    """The run's t0 (monotonic) from its runner's event file, once written."""
    for path in runner_event_files(os.getpid()):
        for line in Path(path).read_text().splitlines():
            if '"t0_monotonic"' in line:
                return json.loads(line)["t0_monotonic"]
    return None


def test_a_worker_killed_in_the_fault_phase_is_named_and_the_run_ends_on_time(nbt_run):
    fault_at_s = FAST["phases.warmup_s"] + FAST["phases.baseline_s"]
    killed: dict = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "at" not in killed:
            t0 = t0_of_this_run()
            pid = crowd_worker_pid("crowd2")
            if t0 and pid and time.monotonic() >= t0 + fault_at_s + 0.8:
                os.kill(pid, signal.SIGKILL)
                killed["at"] = time.monotonic()
                killed["t_s"] = time.monotonic() - t0
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    entry = nbt_run("rst", target="local", overrides={**FAST, **CROWD})
    ended = time.monotonic()
    thread.join(5)
    assert "at" in killed, "the worker was never killed"
    assert fault_at_s < killed["t_s"] < fault_at_s + FAST["phases.fault_s"]
    # the rest of the phases, the flush (a probe timeout + 3 s) and margins: never a hang
    left_s = sum(FAST.values()) - killed["t_s"]
    assert ended - killed["at"] < left_s + 12, ended - killed["at"]
    assert entry["verdict"] == "error", entry["reason"]
    assert "crowd worker crowd2 lost" in entry["reason"], entry["reason"]
    lost = entry.to_json()["crowd"]["lost"]
    assert [w["worker"] for w in lost] == ["crowd2"]
    # last heard: its last status (every 0.5 s) before the kill, in the phase of that time
    assert killed["t_s"] - 1.0 <= lost[0]["at_s"] <= killed["t_s"], (lost, killed)
    assert lost[0]["phase"] == ("fault" if lost[0]["at_s"] >= fault_at_s else "baseline"), lost
    assert crowd_children() == {}


def test_a_master_outside_the_lab_with_local_workers_is_one_clear_error(nbt_run):
    entry = nbt_run("rst", target="local",
                    overrides={**FAST, "crowd.users": 2, "crowd.master_bind": "127.0.0.1:5599"})
    assert entry["verdict"] == "error"
    assert entry["reason"].startswith("[crowd] master_bind: local workers in lab hosts cannot "
                                      "reach a master outside the lab"), entry["reason"]


def test_a_crowd_not_ready_in_time_is_one_clear_error_not_a_hang(nbt_run):
    started = time.monotonic()
    entry = nbt_run("rst", target="local",
                    overrides={**FAST, **CROWD, "crowd.users": 400, "crowd.spawn_rate": 10,
                               "crowd.join_timeout_s": 1})
    # 400 users at 10 a second cannot all log on within 1 s (nor may the workers join)
    assert entry["verdict"] == "error"
    assert re.search(r"crowd: \d+ of (2 crowd workers joined|400 crowd users logged on) "
                     r"within 1 s", entry["reason"]), entry["reason"]
    assert time.monotonic() - started < 20
    assert crowd_children() == {}


def test_the_crowd_dies_with_a_harness_killed_by_sigkill(tmp_path):
    """No exit path of the harness's own can run under SIGKILL: its crowd (master and
    workers, started through setpriv --pdeathsig) must die with it all the same. Killed
    once the phases run (a master killed earlier dies anyway: its 'ready' meets a closed
    pipe), with 5 s of baseline left, during which a master left alone would keep going."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "rst", "--target", "local", "--quiet",
         "--report-dir", str(tmp_path),
         *sets({**FAST, **CROWD, "crowd.users": 20, "phases.baseline_s": 6})],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def crowd_running() -> bool:
        """The run's history says the crowd is ready and its phases have begun."""
        for path in runner_event_files(proc.pid):
            try:
                if '"type":"crowd"' in Path(path).read_text():
                    return True
            except OSError:
                pass
        return False

    try:
        def crowd():
            found = []
            for path in glob("/proc/[0-9]*/cmdline"):
                try:
                    argv = Path(path).read_bytes().split(b"\0")
                    stat = Path(path).with_name("stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(stat[1]) == proc.pid and any(a.startswith(b"harness.crowd.") for a in argv):
                    found.append(int(Path(path).parent.name))
            return found

        wait_for(crowd_running, "the crowd's phases", timeout_s=60)
        pids = wait_for(lambda: (c := crowd()) and len(c) == 3 and c, "the crowd's processes")
        time.sleep(1.0)
        proc.kill()
        proc.wait(5)

        assert not still_alive(pids, 3.0), "the crowd outlived the harness"
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run([sys.executable, "-m", "harness", "cleanup"], capture_output=True,
                       timeout=60, check=False)
