"""The pytest plugin end to end: scenario files collected as items and run for real."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.lab import netns
from tests.conftest import (
    CHILD_PYTEST,
    FAST,
    iptables_rules,
    scratch_dirs_of,
    wait_for,
    wait_for_victim_host,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FAST_ARGS = [f"--nbt-set={k}={v}" for k, v in FAST.items()]


def test_scenario_files_are_items(pytester):
    d = pytester.mkdir("scenarios")
    shutil.copy(SCENARIOS / "baseline.toml", d / "baseline.toml")
    shutil.copy(SCENARIOS / "rst.toml", d / "rst.toml")
    result = pytester.runpytest_subprocess("scenarios", "-v", *CHILD_PYTEST, *FAST_ARGS,
                                           timeout=180)
    result.stdout.fnmatch_lines(["*nbt-harness: target=local*", "*baseline*PASSED*", "*rst*PASSED*"])
    assert result.ret == 0


def test_failing_scenario_shows_the_table(pytester):
    import xml.etree.ElementTree as ET

    d = pytester.mkdir("scenarios")
    # The name tries to leave the report directory: its files must stay inside it.
    (d / "tight.toml").write_text(
        'name = "../tight"\n[bounds]\np99_floor_ms = 0.001\np99_factor = 0.01\n'
        'max_floor_ms = 0.001\nmax_factor = 0.01\n')
    result = pytester.runpytest_subprocess("scenarios", *CHILD_PYTEST, *FAST_ARGS,
                                           "--nbt-report-dir=rep", "--junitxml=junit.xml",
                                           timeout=180)
    result.stdout.fnmatch_lines(["*tight: FAIL*", "*VIOLATION*", "*report: *rep/local/report.html*"])
    assert result.ret == 1
    rep = pytester.path / "rep"
    assert (rep / "local" / "tight" / "history.jsonl").is_file() and not (rep / "tight").exists()
    assert json.loads((rep / "local" / "report.json").read_text())["scenarios"][0]["verdict"] == "fail"
    props = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    assert props["nbt_verdict"] == "fail" and props["nbt_worst_probe"].count("/") == 2
    assert float(props["nbt_worst_observed_ms"]) > float(props["nbt_worst_limit_ms"])
    assert props["nbt_report_html"].endswith("rep/local/report.html")


def test_broken_scenario_is_a_collection_error(pytester):
    d = pytester.mkdir("scenarios")
    (d / "bad.toml").write_text("name = 'bad'\n[drop]\nmode = 'meteor'\n")
    result = pytester.runpytest_subprocess("scenarios", *CHILD_PYTEST, timeout=60)
    result.stdout.fnmatch_lines(["*unknown drop mode 'meteor'*"])
    assert result.ret == 2


def test_pytest_timeout_mid_blackhole_leaves_nothing_behind(pytester):
    """pytest-timeout (signal method) fires while the victim's flow is cut: the run unwinds
    through the same teardown, so no namespace, rule, process or temp dir of it remains."""
    d = pytester.mkdir("scenarios")
    shutil.copy(SCENARIOS / "blackhole.toml", d / "blackhole.toml")
    # The cut starts about 2 s after the clients (warmup + baseline) and lasts the 6 s fault
    # phase: a 9 s timeout, counted from the item's start, fires while it is in place.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "scenarios", *CHILD_PYTEST, "--timeout=9",
         "--nbt-set=phases.warmup_s=0.5", "--nbt-set=phases.baseline_s=1.5"],
        cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        victim_ns = wait_for_victim_host(proc.pid)
        wait_for(lambda: "nbth-" in iptables_rules(victim_ns), "the blackhole's iptables cut")
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Timeout" in out and "1 failed" in out, out[-2000:]
    assert not [n for n in netns.list_netns() if n.startswith(f"nbth-{proc.pid}-")]
    assert not scratch_dirs_of(proc.pid)
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    assert f"nbth-{proc.pid}-" not in ps  # no smbd/nmbd of that run

