"""Every exit path of a real run: signals and bugs while the target starts, a runner killed
with SIGKILL (its clients must die with it), two runs at once, pytest-xdist workers."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.lab import netns
from tests.conftest import (
    CHILD_PYTEST,
    FAST,
    cmdline,
    scratch_dirs_of,
    still_alive,
    wait_for,
    wait_for_victim_host,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]
SETS = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]


def leftovers(pid: int) -> list[str]:
    """What a harness process ``pid`` left: namespaces, temp dirs, smbd/nmbd of its config."""
    left = [n for n in netns.list_netns() if n.startswith(f"nbth-{pid}-")]
    left += [d.name for d in scratch_dirs_of(pid)]
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    left += [line for line in ps.splitlines() if f"nbth-{pid}-" in line]
    return left


# The run is made to stop inside target start, after the namespaces, the temp dir and the
# daemons exist (where a docker build would spend minutes): the readiness wait raises the
# interruption itself, so the moment is exact.
START_HOOK = textwrap.dedent("""
    import os, signal, sys, time
    import harness.targets.local as local
    # SIGINT and SIGHUP as a terminal's child has them, even when this pytest runs with them
    # ignored (a background job, or under nohup): an ignored SIGINT or SIGHUP stays ignored
    # by design (see harness.cli.main).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    what = sys.argv[1]
    def interrupted_wait(self, endpoint):
        if what == "bug":
            raise RuntimeError("a bug in target start")
        os.kill(os.getpid(), getattr(signal, what))
        time.sleep(10)
    local.LocalSamba._wait_ready = interrupted_wait
    from harness.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.parametrize(
    "what, code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129), ("bug", 4)]
)
def test_interrupted_target_start_unwinds_through_teardown(tmp_path, what, code):
    proc = subprocess.Popen(
        [sys.executable, "-c", START_HOOK, what, "run", "baseline", "--report-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert not leftovers(proc.pid), leftovers(proc.pid)
    if what == "bug":  # the one line names the traceback file; it is there, then removed
        crash = Path(err.split("traceback in ")[1].split()[0])
        assert "a bug in target start" in crash.read_text()
        crash.unlink()


def test_clients_die_with_a_runner_killed_by_sigkill(tmp_path):
    # long phases: without a parent-death signal the clients would probe for half a minute
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "rst",
            "--report-dir",
            str(tmp_path),
            "--set",
            "phases.baseline_s=30",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        wait_for_victim_host(proc.pid)

        def clients():
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            return [int(k) for k in kids if b"harness" in cmdline(int(k))]

        pids = wait_for(lambda: (c := clients()) and len(c) >= 5 and c, "the client processes")
        proc.kill()
        proc.wait(5)

        assert not still_alive(pids, 2.0), "clients outlived their runner"
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(
            [sys.executable, "-m", "harness", "cleanup"], capture_output=True, timeout=60, cwd=REPO
        )
    assert not leftovers(proc.pid)


def test_two_runs_at_once_in_one_report_dir_both_pass(tmp_path):
    """Two runs of the same scenario, the second started while the first is mid-run, into the
    same report directory: neither may delete or mix the other's events. The second runs
    without the nbstat probe, so a first run that merged the second's events (or lost its
    own) would have no nbstat samples and end as error."""
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "rst",
        "--quiet",
        "--report-dir",
        str(tmp_path),
        *SETS,
    ]
    first = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    wait_for_victim_host(first.pid)
    second = subprocess.Popen(
        [*cmd, "--set", "probes.nbstat=0", "--set", "healthy_clients=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and "rst: pass" in out1, out1 + err1
    assert second.returncode == 0 and "rst: pass" in out2, out2 + err2
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["scenarios"][0]["verdict"] == "pass"
    assert not leftovers(first.pid) and not leftovers(second.pid)


def test_pytest_xdist_runs_scenario_items_in_parallel(pytester):
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    d = pytester.mkdir("scenarios")
    for name in ("baseline", "rst"):
        (d / f"{name}.toml").write_text((REPO / "scenarios" / f"{name}.toml").read_text())
    fast = [f"--nbt-set={k}={v}" for k, v in FAST.items()]
    result = pytester.runpytest_subprocess(
        "scenarios", "-n", "2", *CHILD_PYTEST, *fast, timeout=180
    )
    result.stdout.fnmatch_lines(["*2 passed*"])
    assert result.ret == 0
