"""Where a run's files go: one directory per run under a runs folder, with a ``latest`` link,
or the directory the user gave (``--report-dir``); one sub-directory per scenario, named by a
slug that cannot leave the run's directory, whatever the scenario's name.

Naming (``slug``, ``run_dir_name``, ``scenario_dir_names``) is pure; the rest makes
directories and links, and never removes anything but a link of its own and, in a scenario
directory it reuses, the files a run writes there (``prepare_run_dir``).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import BadInput
from harness.files import check_dir, open_dir, slug, temp_name
from harness.history import merge
from harness.lab import owner
from harness.lab.inns import signals_held

DEFAULT_RUNS_DIR = "nbt-runs"
RUNS_DIR_ENV = "NBT_HARNESS_RUNS_DIR"
LATEST = "latest"


def scenario_dir_names(names: list[str]) -> list[str]:
    """A distinct slug per scenario, in order: the second 'x' becomes 'x-2', and so on."""
    taken: set[str] = set()
    out = []
    for name in names:
        base = slug(name)
        candidate, n = base, 1
        while candidate.lower() in taken:  # case-insensitive file systems exist
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def run_dir_name(started: datetime, target_label: str) -> str:
    """'20261126T171500Z-local': UTC start time, then the target."""
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{slug(target_label, 'target')}"


def new_run_dir(runs_dir: Path, target_label: str, started: datetime | None = None) -> Path:
    """Create and return a new directory for this run under ``runs_dir`` (never an existing
    one: a second run in the same second gets '-2')."""
    base = run_dir_name(started or datetime.now(UTC), target_label)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the runs directory {runs_dir}: {exc.strerror}") from None
    check_dir(runs_dir, "--runs-dir")
    for n in range(1, 1000):
        path = runs_dir / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise BadInput(f"cannot create a run directory in {runs_dir}: {exc.strerror}") from None
    raise BadInput(f"cannot create a run directory in {runs_dir}: too many runs named {base}")


def point_latest(runs_dir: Path, run_dir: Path) -> str | None:
    """Make ``runs_dir/latest`` a relative symlink to ``run_dir``, atomically (a new link
    renamed over the old one). Returns why it could not, or None."""
    link = runs_dir / LATEST
    if link.exists() and not link.is_symlink():
        return f"{link} exists and is not a link; left as it is"
    tmp = runs_dir / temp_name(LATEST)
    try:
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    except OSError as exc:
        if tmp.is_symlink():
            tmp.unlink()
        return f"cannot update {link}: {exc.strerror}"
    return None


def runs_dir(given: Path | None) -> Path:
    """The runs folder: ``given``, else $NBT_HARNESS_RUNS_DIR, else nbt-runs."""
    return given or Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def report_dir(given: Path | None, runs: Path | None, target_label: str) -> tuple[Path, str | None]:
    """The run's directory: ``given`` (``--report-dir``), or a new one under the runs folder
    with ``latest`` pointed at it; and a note when the link could not be updated."""
    if given is not None:
        if runs is not None:
            raise BadInput("--report-dir and --runs-dir exclude each other")
        return prepare_report_dir(given), None
    folder = runs_dir(runs)
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--runs-dir {folder} exists and is not a directory")
    run_dir = new_run_dir(folder, target_label)
    return run_dir, point_latest(folder, run_dir)


def prepare_report_dir(path: Path) -> Path:
    """The user's ``--report-dir``: created if missing; BadInput (one line, exit 2) when it
    is a file, cannot be created, is not writable, or another user can write to it
    (harness.files.check_dir)."""
    if path.exists() and not path.is_dir():
        raise BadInput(f"--report-dir {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--report-dir {path}: cannot create it: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise BadInput(f"--report-dir {path} is not writable")
    check_dir(path, "--report-dir")
    return path


HISTORY = "history.jsonl"
OWN_FILES = (HISTORY, "events-*.jsonl")  # what a run writes (or once wrote) there


def prepare_run_dir(run_dir: Path) -> None:
    """Make ``run_dir`` ready for a run. A directory of an earlier run is reused: only the
    files a run writes (``OWN_FILES``) are removed from it, one by one; nothing else there,
    and nothing outside it, is ever removed (the harness runs as root). A path that is a
    link, not a directory, or a directory another user can write to is refused (BadInput);
    the checks and removals go through one descriptor opened without following links."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a link or a file: open_dir refuses it
    except OSError as exc:
        raise BadInput(f"cannot create {run_dir}: {exc.strerror}") from None
    fd = open_dir(run_dir, "scenario directory")
    try:
        for name in os.listdir(fd):  # event files are appended to: an old one would mix runs
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in OWN_FILES) and stat.S_ISREG(
                os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            ):
                os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


@contextmanager
def events_dir() -> Iterator[Path]:
    """A directory of this run's own for its per-process event files, removed at the end (or
    by `cleanup` once this process is dead): another run writing the same report directory
    (a second command, a pytest-xdist worker) can neither delete nor mix them."""
    owner.register()  # cleanup proves the events dir (and the drop's rules) this run's
    path = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-events-"))
    try:
        yield path
    finally:
        with signals_held():  # a signal now would cut the removal short
            shutil.rmtree(path, ignore_errors=True)


def write_history(run_dir: Path, events_dir: Path) -> tuple[list[dict], Path]:
    """Merge every process's event file of ``events_dir`` into ``run_dir``/history.jsonl
    (written whole: harness.history.merge); return the events in time order and the path."""
    history = run_dir / HISTORY
    events = merge(sorted(events_dir.glob("events-*.jsonl")), history)
    return events, history
