"""Reading run directories and writing the HTML pages: the thin I/O around harness.report.html,
harness.report.compare_page and harness.checkers.compare."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import harness
from harness.errors import BadInput
from harness.files import atomic_write, slug
from harness.history import read_events
from harness.report.compare_page import render_compare_page
from harness.report.html import render_report
from harness.report.runs_index import in_order, render_index, summarize
from harness.results import Report


def harness_version() -> str:
    try:
        return metadata.version("nbt-harness")
    except metadata.PackageNotFoundError:
        return harness.__version__


def load_report(path: Path) -> tuple[Report, Path]:
    """(report, run directory) from a run directory or a report.json, of this version or an
    older one; BadInput (one line) when it is missing or not a report."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    if not file.is_file():
        raise BadInput(
            f"no report at {path}" + (" (no report.json in it)" if path.is_dir() else "")
        )
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{file} is not a report: {type(exc).__name__}") from None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("scenarios"), list)
        or not all(isinstance(s, dict) and "name" in s and "verdict" in s for s in doc["scenarios"])
    ):
        raise BadInput(
            f"{file} is not an nbt-harness report (no scenarios[] with name and verdict)"
        )
    try:
        return Report.from_json(doc), file.parent
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{file} is not an nbt-harness report: {exc}") from None


def histories_of(doc: Report, run_dir: Path) -> dict[str, list[dict]]:
    """Each scenario's history events: the path its entry names, else
    RUN_DIR/<slug of its name>/history.jsonl; scenarios with neither are left out. Only a
    ``history.jsonl`` inside RUN_DIR is read (links resolved): a report cannot make the tool
    read any other file, whatever its ``history`` or scenario name says."""
    root = run_dir.resolve()
    out = {}
    for entry in doc.scenarios:
        candidates = [run_dir / slug(entry.name) / "history.jsonl"]
        if entry.history:  # as written, or the same scenario directory in a moved run dir
            named = Path(entry.history)
            candidates[:0] = [named, run_dir / slug(named.parent.name) / "history.jsonl"]
        path = next(
            (
                p
                for p in candidates
                if p.name == "history.jsonl" and p.resolve().is_relative_to(root) and p.is_file()
            ),
            None,
        )
        if path is not None:
            out[entry.name] = list(read_events(path))
    return out


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_html(run_dir: Path, out: Path | None = None) -> Path:
    """Write report.html beside RUN_DIR's report.json (or to ``out``); return its path."""
    doc, run_dir = load_report(run_dir)
    try:
        page = render_report(doc, histories_of(doc, run_dir), harness_version())
    except ValueError as exc:  # a histogram that is not one (a crafted or damaged report)
        raise BadInput(f"{run_dir / 'report.json'} is not a usable report: {exc}") from None
    return _write(out or run_dir / "report.html", page)


def write_compare_html(
    result: dict, base: tuple[str, Report], new: tuple[str, Report], out: Path
) -> Path:
    try:
        page = render_compare_page(result, base[0], new[0], base[1], new[1], harness_version())
    except ValueError as exc:
        raise BadInput(f"cannot compare {base[0]} with {new[0]}: {exc}") from None
    return _write(out, page)


def kept_runs(runs_dir: Path) -> tuple[list, list[str]]:
    """(a RunSummary per run directory under ``runs_dir`` holding a report.json, oldest
    first; why each other directory with a report.json was left out). Links (``latest``)
    are not followed: each run is listed once."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise BadInput(f"no runs directory at {runs_dir}")
    runs, skipped = [], []
    for child in sorted(runs_dir.iterdir()):
        if child.is_symlink() or not child.is_dir() or not (child / "report.json").is_file():
            continue
        try:
            doc, _ = load_report(child)
        except BadInput as exc:
            skipped.append(str(exc))
            continue
        runs.append(summary_of(child, doc))
    return in_order(runs), skipped


def summary_of(run_dir: Path, doc: Report):
    """The RunSummary of the run in ``run_dir`` whose report is ``doc`` (already loaded)."""
    return summarize(run_dir.name, (run_dir / "report.json").stat().st_mtime, doc)


def write_index(runs_dir: Path, runs: list) -> Path:
    """Write RUNS_DIR/index.html for ``runs`` (harness.report.runs_index.render_index)."""
    return _write(Path(runs_dir) / "index.html", render_index(runs, harness_version()))
