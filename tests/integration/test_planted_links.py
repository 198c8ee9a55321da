"""Another local user plants links in a report directory; root's run writes nothing through
them (harness.files), and a directory another user can write to is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import CHILD_PYTEST, FAST

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
VICTIM_TEXT = "root's file, not to be touched\n"
OLD_TEMP_NAMES = ("report.html.tmp", "report.json.tmp", "entry.json")


@pytest.fixture
def open_tmp():
    """A directory user nobody can reach (pytest's own temp root is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="nbth-test-links-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_nobody(*argv: str) -> None:
    subprocess.run(argv, user="nobody", group="nogroup", check=True, timeout=10)


def victim_file(tmp_path: Path, name: str = "victim") -> Path:
    """A root-owned file outside the report directory (the stand-in for /etc/shadow)."""
    safe = tmp_path / "root-only"
    safe.mkdir(mode=0o700, exist_ok=True)
    victim = safe / name
    victim.write_text(VICTIM_TEXT)
    return victim


def sticky_dir(path: Path) -> Path:
    path.mkdir()
    path.chmod(0o1777)  # root's, world-writable, sticky: like /tmp
    return path


def test_cli_run_writes_nothing_through_links_planted_by_another_user(open_tmp):
    tmp_path = open_tmp
    victim = victim_file(tmp_path)
    report = sticky_dir(tmp_path / "rep")
    # the names the old code wrote through (fixed temp names), and the final names, which a
    # write that opened its file in place would follow (random temp names are the unit test's)
    for name in (*OLD_TEMP_NAMES, "report.json", "report.html"):
        as_nobody("ln", "-s", str(victim), str(report / name))
    done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", "--report-dir",
                           str(report), *SHORT], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert victim.read_text() == VICTIM_TEXT
    assert json.loads((report / "report.json").read_text())["scenarios"][0]["verdict"] == "pass"
    assert not (report / "report.json").is_symlink() and not (report / "report.html").is_symlink()
    for name in OLD_TEMP_NAMES:
        assert (report / name).is_symlink()  # left as they were, never followed
    assert not [p for p in report.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


@pytest.mark.parametrize("mode, owner, why", [
    (0o777, None, "can be written by other users (mode 777, not sticky)"),
    (0o775, None, "can be written by other users (mode 775, not sticky)"),
    (0o1777, "nobody", "is owned by another user"),
])
def test_a_report_dir_another_user_can_write_to_is_refused(tmp_path, mode, owner, why):
    report = tmp_path / "rep"
    report.mkdir()
    report.chmod(mode)
    if owner:
        shutil.chown(report, owner)
    for option in ("--report-dir", "--runs-dir"):
        done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", option,
                               str(report)], capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 2, done.stderr
        assert why in done.stderr and option in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert os.listdir(report) == []


def test_plugin_writes_nothing_through_links_planted_by_another_user(pytester, open_tmp):
    tmp_path = open_tmp
    victim = victim_file(tmp_path)
    entry_victim = victim_file(tmp_path, "victim2")
    d = pytester.mkdir("scenarios")
    for name in ("a", "b"):
        text = (SCENARIOS / "baseline.toml").read_text().replace('name = "baseline"', f'name = "{name}"')
        (d / f"{name}.toml").write_text(text)
    target_dir = sticky_dir(sticky_dir(tmp_path / "rep") / "local")
    as_nobody("ln", "-s", str(victim), str(target_dir / "report.json.tmp"))
    as_nobody("mkdir", "-m", "755", str(target_dir / "b"))  # b's scenario directory: nobody's
    as_nobody("ln", "-s", str(entry_victim), str(target_dir / "b" / "entry.json"))
    result = pytester.runpytest_subprocess("scenarios", "-v", *CHILD_PYTEST,
                                           *[f"--nbt-set={k}={v}" for k, v in FAST.items()],
                                           f"--nbt-report-dir={tmp_path / 'rep'}", timeout=180)
    assert victim.read_text() == VICTIM_TEXT and entry_victim.read_text() == VICTIM_TEXT
    result.stdout.fnmatch_lines(["*a.toml::a PASSED*", "*b.toml::b FAILED*",
                                 "*nbt-harness: scenario directory *b is owned by another user*"])
    assert (target_dir / "report.json.tmp").is_symlink()
    doc = json.loads((target_dir / "report.json").read_text())
    assert [s["name"] for s in doc["scenarios"]] == ["a"]
