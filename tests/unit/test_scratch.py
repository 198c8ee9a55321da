"""Where scratch directories go: memory when it has room, an explicit $TMPDIR first, and
cleanup looks in every root."""

import os
import tempfile
from pathlib import Path

from harness import scratch


def test_a_missing_or_small_memory_dir_is_not_used(tmp_path, monkeypatch):
    assert not scratch._shm_usable(tmp_path / "absent")
    monkeypatch.setattr(scratch, "SHM_MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    assert not scratch._shm_usable(tmp_path)


def test_a_writable_dir_with_room_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch, "SHM_MIN_FREE_BYTES", 1)
    assert scratch._shm_usable(tmp_path)


def test_memory_is_the_root_unless_tmpdir_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch, "SHM_DIR", tmp_path)
    monkeypatch.setattr(scratch, "SHM_MIN_FREE_BYTES", 1)
    monkeypatch.delenv("TMPDIR", raising=False)
    assert scratch.scratch_root() == tmp_path
    made = scratch.make_scratch_dir("nbth-test-")
    assert made.parent == tmp_path and made.name.startswith("nbth-test-")
    assert made.stat().st_mode & 0o777 == 0o700
    assert tmp_path in scratch.scratch_roots()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "chosen"))
    (tmp_path / "chosen").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir reads $TMPDIR again
    assert scratch.scratch_root() == tmp_path / "chosen"


def test_without_memory_the_system_temp_dir_is_the_only_root(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch, "SHM_DIR", tmp_path / "absent")
    monkeypatch.delenv("TMPDIR", raising=False)
    assert scratch.scratch_root() == Path(tempfile.gettempdir())
    assert scratch.scratch_roots() == [Path(tempfile.gettempdir())]
    assert os.path.isdir(scratch.scratch_roots()[0])
