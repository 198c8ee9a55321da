"""harness.files: atomic writes into report directories and the directory check."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from harness import files
from harness.errors import BadInput
from harness.files import atomic_write, check_dir, unsafe_dir_reason
from harness.report.files import _write


def test_two_concurrent_writers_of_one_report_file_both_succeed(tmp_path):
    """Two runs (or xdist workers) writing report.html / report.json in one directory at once:
    each write is whole and none fails (a shared fixed temp name once made the loser exit 2)."""
    path = tmp_path / "report.html"
    errors: list[Exception] = []

    def writer(tag: str) -> None:
        for i in range(300):
            try:
                _write(path, f"{tag} {i}\n" * 200)
            except Exception as exc:  # noqa: BLE001 - the test collects any failure
                errors.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    lines = path.read_text().splitlines()
    assert len(lines) == 200 and len(set(lines)) == 1  # one writer's content, whole
    assert os.listdir(tmp_path) == ["report.html"]  # no temp file left behind


def test_atomic_write_replaces_a_link_at_the_final_name_and_sets_the_mode(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("keep")
    d = tmp_path / "d"
    d.mkdir()
    (d / "report.json").symlink_to(outside)
    atomic_write(d / "report.json", "{}", mode=0o600, fsync=True)
    assert outside.read_text() == "keep" and not (d / "report.json").is_symlink()
    assert (d / "report.json").read_text() == "{}"
    assert stat.S_IMODE((d / "report.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode, uid, why", [
    (0o40755, 0, None),
    (0o40700, 0, None),
    (0o41777, 0, None),  # sticky and ours, like a private /tmp
    (0o40777, 0, "can be written by other users (mode 777, not sticky)"),
    (0o40770, 0, "can be written by other users (mode 770, not sticky)"),
    (0o40755, 1000, "is owned by another user (uid 1000)"),
    (0o41777, 1000, "is owned by another user (uid 1000)"),
    (0o100644, 0, "is not a directory"),
])
def test_unsafe_dir_reason(mode, uid, why):
    st = os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))
    assert unsafe_dir_reason(st, uid=0) == why


def test_check_dir_refuses_a_world_writable_directory_in_one_line(tmp_path):
    tmp_path.chmod(0o777)
    with pytest.raises(BadInput) as exc:
        check_dir(tmp_path, "--report-dir")
    assert str(exc.value).count("\n") == 0 and "mode 777" in str(exc.value)
    tmp_path.chmod(0o1777)
    check_dir(tmp_path, "--report-dir")


def test_atomic_write_never_writes_through_a_link_at_its_temp_name(tmp_path, monkeypatch):
    """Were the temp name guessed and a link planted there (dangling or not), the write
    fails and nothing is written through it: O_CREAT|O_EXCL|O_NOFOLLOW."""
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    report = tmp_path / "rep"
    report.mkdir()
    monkeypatch.setattr(files, "temp_name", lambda name: f".{name}.guessed.tmp")
    for target in (victim, tmp_path / "created-through-the-link"):
        link = report / ".report.json.guessed.tmp"
        link.symlink_to(target)
        with pytest.raises(OSError):
            files.atomic_write(report / "report.json", "{}")
        assert link.is_symlink()
        link.unlink()
    assert victim.read_text() == "untouched"
    assert not (tmp_path / "created-through-the-link").exists()
    assert not (report / "report.json").exists()
