"""Run directories, scenario directory names, the runner's own-files-only clean-up."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness import files
from harness.errors import BadInput
from harness.run import rundirs
from harness.run.rundirs import (
    point_latest,
    prepare_report_dir,
    run_dir_name,
    scenario_dir_names,
    slug,
)
from tests.support.declining_target import DecliningTarget


@pytest.mark.parametrize("name, expected", [
    ("rst", "rst"),
    ("..", "scenario"),
    (".", "scenario"),
    ("/", "scenario"),
    ("", "scenario"),
    ("...", "scenario"),
    ("a/../../b", "a-..-..-b"),
    ("/etc/passwd", "etc-passwd"),
    (".hidden", "hidden"),
    ("x y\tz\n", "x-y-z"),
    ("na\u00efve", "na-ve"),
])
def test_slug_is_one_safe_component(name, expected):
    out = slug(name)
    assert out == expected
    assert "/" not in out and out not in (".", "..") and not out.startswith((".", "-"))


def test_slug_is_bounded():
    assert len(slug("x" * 1000)) == files.SLUG_MAX_CHARS


def test_same_names_get_distinct_directories():
    assert scenario_dir_names(["rst", "rst", "..", "/", "RST", ""]) == [
        "rst", "rst-2", "scenario", "scenario-2", "RST-3", "scenario-3"]


def test_run_dir_name_has_utc_time_and_target():
    started = datetime(2026, 11, 26, 17, 15, 0, tzinfo=UTC)
    assert run_dir_name(started, "local") == "20261126T171500Z-local"
    assert run_dir_name(started, "docker:trixie") == "20261126T171500Z-docker-trixie"
    assert run_dir_name(started, "smb://LAB;bob@h:139/s") == "20261126T171500Z-smb-LAB-bob-h-139-s"
    assert run_dir_name(started, "..") == "20261126T171500Z-target"


def test_new_run_dirs_never_reuse_a_directory(tmp_path):
    started = datetime(2026, 11, 26, 17, 15, 0, tzinfo=UTC)
    first = rundirs.new_run_dir(tmp_path / "runs", "local", started)
    (first / "keep").write_text("x")
    second = rundirs.new_run_dir(tmp_path / "runs", "local", started)
    assert first.name == "20261126T171500Z-local" and second.name == "20261126T171500Z-local-2"
    assert (first / "keep").read_text() == "x"


def test_latest_link_is_replaced_atomically(tmp_path):
    a, b = tmp_path / "run-a", tmp_path / "run-b"
    a.mkdir()
    b.mkdir()
    assert point_latest(tmp_path, a) is None
    assert os.readlink(tmp_path / "latest") == "run-a"
    assert point_latest(tmp_path, b) is None
    assert os.readlink(tmp_path / "latest") == "run-b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-a", "run-b"]


def test_latest_that_is_a_real_directory_is_left_alone(tmp_path):
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "mine").write_text("x")
    run = tmp_path / "run"
    run.mkdir()
    assert "not a link" in point_latest(tmp_path, run)
    assert (tmp_path / "latest" / "mine").read_text() == "x"


def test_report_dir_that_is_a_file_is_bad_input(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(BadInput, match="not a directory"):
        prepare_report_dir(f)
    with pytest.raises(BadInput, match="cannot create"):
        prepare_report_dir(f / "sub")
    assert prepare_report_dir(tmp_path / "new" / "dir").is_dir()



def test_runner_removes_only_its_own_files(tmp_path):
    from harness.run.runner import run_scenario
    from harness.scenario.model import Scenario

    run_dir = tmp_path / "rep" / "baseline"
    run_dir.mkdir(parents=True)
    (run_dir / "keep.txt").write_text("the user's")
    (run_dir / "sub").mkdir()
    (run_dir / "events-c1.jsonl").write_text('{"t_s":0,"type":"ok"}\n')  # an earlier run's
    (run_dir / "history.jsonl").write_text("old\n")
    result = run_scenario(Scenario(name="baseline"), DecliningTarget(), run_dir)
    assert result.verdict == "skip"
    assert (run_dir / "keep.txt").read_text() == "the user's" and (run_dir / "sub").is_dir()
    assert not (run_dir / "events-c1.jsonl").exists() and not (run_dir / "history.jsonl").exists()


def test_runner_refuses_a_link_or_a_file(tmp_path):
    from harness.run.runner import run_scenario
    from harness.scenario.model import Scenario

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "history.jsonl").write_text("not the harness's\n")
    (tmp_path / "link").symlink_to(elsewhere)
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "link", tmp_path / "file"):
        with pytest.raises(BadInput, match="not a directory"):
            run_scenario(Scenario(name="baseline"), DecliningTarget(), path)
    assert (elsewhere / "history.jsonl").read_text() == "not the harness's\n"


def test_cli_files_stay_inside_the_run_dir_whatever_the_names(tmp_path, monkeypatch):
    """Scenario names '..', '/', 'a/../../b' and a duplicate: every file lands in a slug
    directory inside the report dir; a sentinel beside the report dir survives (the runner
    once removed report_dir/<name> recursively, as root)."""
    from harness import cli

    scen = tmp_path / "scen"
    scen.mkdir()
    for i, name in enumerate(["..", "/", "a/../../b", "..", "..."]):
        (scen / f"s{i}.toml").write_text(f"name = {name!r}\n")
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("x")

    monkeypatch.setattr(cli, "make_target", lambda *a, **k: DecliningTarget())
    report = tmp_path / "rep"
    code = cli.main(["run", "--scenario-dir", str(scen), "--report-dir", str(report), "--quiet"])
    assert code == 0 and sentinel.read_text() == "x"
    assert sorted(p.name for p in report.iterdir() if p.is_dir()) == [
        "a-..-..-b", "scenario", "scenario-2", "scenario-3", "scenario-4"]
    assert (report / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "scen", "sentinel"]


def test_runs_dir_default_gets_a_run_of_its_own_and_latest(tmp_path, monkeypatch):
    from harness import cli

    monkeypatch.setattr(cli, "make_target", lambda *a, **k: DecliningTarget())
    monkeypatch.chdir(tmp_path)
    scenarios = str(Path(__file__).resolve().parents[3] / "scenarios")
    assert cli.main(["run", "baseline", "--scenario-dir", scenarios, "--quiet"]) == 0
    assert cli.main(["run", "baseline", "--scenario-dir", scenarios, "--quiet"]) == 0
    runs = sorted(p for p in (tmp_path / "nbt-runs").iterdir() if not p.is_symlink())
    assert len(runs) == 2 and all(p.name.endswith(("-local", "-local-2")) for p in runs)
    latest = (tmp_path / "nbt-runs" / "latest")
    assert latest.is_symlink() and latest.resolve() == runs[-1].resolve()
    assert (latest / "report.json").is_file() and (latest / "baseline").is_dir()


def test_the_runs_folder_and_the_report_dir_choice(tmp_path, monkeypatch):
    monkeypatch.delenv(rundirs.RUNS_DIR_ENV, raising=False)
    assert rundirs.runs_dir(None) == Path(rundirs.DEFAULT_RUNS_DIR)
    monkeypatch.setenv(rundirs.RUNS_DIR_ENV, str(tmp_path / "env-runs"))
    assert rundirs.runs_dir(None) == tmp_path / "env-runs"
    assert rundirs.runs_dir(tmp_path / "given") == tmp_path / "given"
    with pytest.raises(BadInput, match="exclude each other"):
        rundirs.report_dir(tmp_path / "r", tmp_path / "runs", "local")
    assert rundirs.report_dir(tmp_path / "r", None, "local") == (tmp_path / "r", None)
    run_dir, note = rundirs.report_dir(None, tmp_path / "runs", "local")
    assert run_dir.parent == tmp_path / "runs" and note is None
    assert (tmp_path / "runs" / "latest").resolve() == run_dir.resolve()
