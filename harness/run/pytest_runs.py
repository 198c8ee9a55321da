"""The scenario runs of a pytest session (harness.plugin's scenario items and ``nbt_run``
fixture): the session's settings, and each run written under its report directory.

Files: ``<report dir>/<target slug>/<scenario slug>/`` (history, entry.json) and the
session's ``report.json`` beside them (every entry of this session for that target). Slugs
cannot leave the report directory, whatever the scenario or target is called."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import BadInput
from harness.files import atomic_write, check_dir
from harness.run import suite
from harness.run.rundirs import slug
from harness.targets.spec import parse_target

if TYPE_CHECKING:
    from harness.results import ScenarioResult
    from harness.scenario.model import Scenario
    from harness.targets.pool import TargetPool


@dataclass(frozen=True)
class Settings:
    """The session's settings (harness.plugin reads them: ini < environment < command line)."""

    target: str
    report_dir: Path
    overrides: dict
    hold_s: float | None
    degrade_ms: float | None
    dialects: list | None = None  # the matrix: None (not asked) or the names given
    transports: list | None = None
    matrix: bool = False


def run_dir_for(settings: Settings, target_spec: str) -> Path:
    """The session's directory for one target: ``<report dir>/<slug of the target>``."""
    return settings.report_dir / slug(parse_target(target_spec).label(), "target")


def run_entry(
    settings: Settings,
    pool: TargetPool,
    entries: dict,
    scenario: Scenario,
    target_spec: str | None = None,
    overrides: dict | None = None,
    hold_s=None,
    degrade_ms=None,
) -> ScenarioResult:
    """Run one scenario under the session's settings (targets from ``pool``, started once per
    session); return its result (its report entry). ``entries``: run dir -> (target label,
    [report entries]) of the session so far, which this run joins in its report.json."""
    spec = target_spec or settings.target
    scenario = scenario.with_overrides({**settings.overrides, **(overrides or {})})
    target = pool.get(
        spec,
        hold_s if hold_s is not None else settings.hold_s,
        degrade_ms if degrade_ms is not None else settings.degrade_ms,
    )
    run_dir = run_dir_for(settings, spec)
    for d in (settings.report_dir, run_dir):  # what another user could swap or plant into: refused
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"cannot create {d}: {exc.strerror}") from None
        check_dir(d, "the report directory")
    scenario_dir = run_dir / slug(scenario.name)
    entry = suite.run_entry(scenario, target, scenario_dir, run_dir, target_name=spec)
    atomic_write(scenario_dir / "entry.json", json.dumps(entry.to_json(), indent=2))
    label, done = entries.setdefault(run_dir, (spec, []))
    done.append(entry)
    suite.write_report(run_dir, done, f"{label} {target.describe()}", target.server_version())
    return entry
