"""The pytest plugin end to end: scenario files collected as items and run for real."""

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FAST_ARGS = ["--nbt-set=phases.warmup_s=0.5", "--nbt-set=phases.baseline_s=2",
             "--nbt-set=phases.fault_s=2", "--nbt-set=phases.recovery_s=2"]


def test_scenario_files_are_items(pytester):
    d = pytester.mkdir("scenarios")
    shutil.copy(SCENARIOS / "baseline.toml", d / "baseline.toml")
    shutil.copy(SCENARIOS / "rst.toml", d / "rst.toml")
    result = pytester.runpytest_subprocess("scenarios", "-v", "-p", "no:cacheprovider", *FAST_ARGS,
                                           timeout=180)
    result.stdout.fnmatch_lines(["*nbt-harness: target=local*", "*baseline*PASSED*", "*rst*PASSED*"])
    assert result.ret == 0


def test_failing_scenario_shows_the_table(pytester):
    d = pytester.mkdir("scenarios")
    (d / "tight.toml").write_text(
        'name = "tight"\n[bounds]\np99_floor_ms = 0.001\np99_factor = 0.01\n'
        'max_floor_ms = 0.001\nmax_factor = 0.01\n')
    result = pytester.runpytest_subprocess("scenarios", "-p", "no:cacheprovider", *FAST_ARGS,
                                           timeout=180)
    result.stdout.fnmatch_lines(["*tight: FAIL*", "*VIOLATION*"])
    assert result.ret == 1


def test_broken_scenario_is_a_collection_error(pytester):
    d = pytester.mkdir("scenarios")
    (d / "bad.toml").write_text("name = 'bad'\n[drop]\nmode = 'meteor'\n")
    result = pytester.runpytest_subprocess("scenarios", "-p", "no:cacheprovider", timeout=60)
    result.stdout.fnmatch_lines(["*unknown drop mode 'meteor'*"])
    assert result.ret == 2
