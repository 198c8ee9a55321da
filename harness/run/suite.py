"""Scenarios as the report keeps them: the one path by which ``nbt-harness run`` and the pytest
plugin run a scenario, build its report entry and write the run's report.json.

- ``run_entry``: one scenario in its directory (with its packet capture when asked: see
  harness.run.pcaps), its entry with what the scenario asked for, how long it took and, when
  it failed or errored, the tail of the server's log;
- ``write_report``: report.json of a run directory, from every entry so far (written whole:
  harness.files.atomic_write), and the JUnit XML (``--junitxml``);
- ``run_suite``: the command's run of a list of scenarios against one target: start the
  target, each scenario with live progress, report.json after each, report.html at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import EXIT_INFRA, BadInput, HarnessError, InfraError
from harness.files import atomic_write
from harness.lab.inns import signals_held
from harness.report.files import write_html
from harness.report.junit import junit_xml, write_junit
from harness.report.table import (
    errored_entry,
    exit_code,
    nothing_tested_line,
    render_table,
    report_doc,
    scenario_entry,
)
from harness.results import ScenarioResult
from harness.run import pcaps, runner
from harness.run.progress import Progress
from harness.run.rundirs import scenario_dir_names
from harness.scenario.model import Scenario
from harness.targets.base import Target

REPORT = "report.json"
SERVER_LOG_TAIL_CHARS = 8000  # of a failed or errored scenario's server log, in its entry


def run_entry(
    scenario: Scenario,
    target: Target,
    scenario_dir: Path,
    run_dir: Path,
    *,
    pcap_mode: str = "never",
    target_name: str | None = None,
    on_start: Callable[[float, Path], None] | None = None,
) -> ScenarioResult:
    """Run ``scenario`` against the started ``target`` in ``scenario_dir`` (inside
    ``run_dir``); return its report entry. ``target_name``: the entry's ``target`` field."""
    started = time.monotonic()
    capture, no_capture = pcaps.start_capture(target, pcap_mode)
    try:
        result = runner.run_scenario(
            scenario, target, scenario_dir, on_start=on_start, capture=capture
        )
    finally:
        if capture:
            capture.stop()
    pcap = pcaps.finish(capture, no_capture, pcap_mode, result.verdict, scenario_dir, run_dir)
    logs = target.logs()[-SERVER_LOG_TAIL_CHARS:] if result.verdict in ("fail", "error") else None
    return scenario_entry(
        result,
        scenario,
        pcap,
        target=target_name,
        duration_s=round(time.monotonic() - started, 2),
        server_logs=logs,
    )


def write_report(
    run_dir: Path, entries: list[ScenarioResult], target_label: str, server: str | None
) -> Path:
    """``run_dir``/report.json with ``entries``; its path."""
    doc = report_doc(entries, target_label, server).to_json()
    path = run_dir / REPORT
    atomic_write(path, json.dumps(doc, indent=2))  # two runs in one directory: no shared temp
    return path


def check_junit_path(path: Path | None) -> None:
    """--junitxml FILE is refused before anything starts if it cannot be written there."""
    if path is None:
        return
    why = (
        "is a directory"
        if path.is_dir()
        else f"no directory {path.parent}"
        if not path.parent.is_dir()
        else f"cannot write in {path.parent}"
        if not os.access(path.parent, os.W_OK | os.X_OK)
        else None
    )
    if why:
        raise BadInput(f"--junitxml {path}: {why}")


def write_run_junit(
    path: Path, entries: list, target_label: str, server: str | None, report_dir: Path
) -> None:
    props = [("nbt_target", target_label)] + ([("nbt_server", server)] if server else [])
    doc = junit_xml(
        entries,
        report_html=str(report_dir / "report.html"),
        properties=props,
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        write_junit(path, doc)
    except OSError as exc:
        raise InfraError(f"--junitxml {path}: {exc.strerror or exc}") from None


def run_suite(
    scenarios: list[Scenario],
    target: Target,
    label: str,
    report_dir: Path,
    *,
    pcap_mode: str,
    quiet: bool,
    junitxml: Path | None = None,
) -> int:
    """Start ``target`` (``label``: how the report names it), run every scenario in a
    directory of its own under ``report_dir``, and stop the target on every exit path;
    return the exit code of the verdicts (EXIT_INFRA when the target never came up)."""
    # Each scenario's directory is a slug of its name: never '..', '/', or a name shared
    # with another scenario of this run.
    dir_names = scenario_dir_names([s.name for s in scenarios])
    entries: list[ScenarioResult] = []
    target_label, server = label, None

    def write_reports() -> Path:
        path = write_report(report_dir, entries, target_label, server)
        if junitxml:
            write_run_junit(junitxml, entries, target_label, server, report_dir)
        return path

    progress = Progress(len(scenarios), enabled=not quiet)
    # One try for start and run: a signal, Ctrl-C or a bug while the target is still
    # starting (a docker build takes minutes) unwinds through stop() like any other exit.
    try:
        try:
            started = time.monotonic()
            target.start()
            target_label = f"{label} {target.describe()}"
            server = target.server_version()
            print(f"target {target_label} ready in {time.monotonic() - started:.1f}s", flush=True)
        except BadInput:  # wrong password, missing share, bad password file: the user's input
            raise
        except HarnessError as exc:
            target.stop()
            entries = [errored_entry(s.name, f"target unreachable: {exc}") for s in scenarios]
            write_reports()
            print(f"nbt-harness: target {label} unreachable: {exc}", file=sys.stderr)
            return EXIT_INFRA
        for i, (sc, dir_name) in enumerate(zip(scenarios, dir_names, strict=True), 1):
            progress.scenario(i, sc.name, report_dir / dir_name, sc.phases.spans())
            try:
                entry = run_entry(
                    sc,
                    target,
                    report_dir / dir_name,
                    report_dir,
                    pcap_mode=pcap_mode,
                    on_start=progress.started,
                )
            finally:
                progress.done()
            entries.append(entry)
            write_reports()
            if quiet:
                print(f"{sc.name}: {entry.verdict} {entry.reason}", flush=True)
            else:
                print(render_table(entry), flush=True)
    finally:
        with signals_held():  # a signal now (teardown) waits until everything is removed
            progress.close()
            target.stop()
    path = write_reports()
    print(f"report: {path}, {write_html(report_dir)}")
    untested = nothing_tested_line(entries)
    if untested:  # exit 0 as pytest's skips, but never mistaken for a pass
        print(untested)
    return exit_code(entries)
