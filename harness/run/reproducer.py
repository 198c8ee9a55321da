"""A failing run of several drops (``victims = N``, a [schedule]) leaves a reproducer in its
directory: ``reproducer.toml``, the scenario as it ran (overrides applied) with its seed and
the exact times of its drops (``[schedule] drops``). ``nbt-harness run`` on that file acts
the same drops at the same times."""

from __future__ import annotations

from pathlib import Path

from harness.files import atomic_write
from harness.results import ScenarioResult
from harness.scenario.fault_schedule import FaultSchedule, plan_drops
from harness.scenario.model import Scenario
from harness.scenario.toml_out import dumps

REPRODUCER = "reproducer.toml"


def reproducer_dict(scenario: Scenario) -> dict | None:
    """The scenario's dict form with its drops written out, or None for a run of one drop."""
    if scenario.drop is None or (scenario.victims == 1 and scenario.schedule is None):
        return None
    planned = plan_drops(
        scenario.schedule, scenario.victims, scenario.phases.fault_start_s, scenario.drop.mode
    )
    d = scenario.to_dict()
    schedule = (scenario.schedule or FaultSchedule(count=len(planned))).to_dict()
    d["schedule"] = {**schedule, "drops": [p.to_dict() for p in planned]}
    return d


def write(run_dir: Path, scenario: Scenario, result: ScenarioResult) -> Path | None:
    """Write the reproducer of a failing run of several drops; its path, or None."""
    d = reproducer_dict(scenario) if result.verdict == "fail" else None
    if d is None:
        return None
    path = Path(run_dir) / REPRODUCER
    header = (
        f"Reproducer of {scenario.name}: {result.reason}\n"
        f"nbt-harness run {REPRODUCER} acts the same drops at the same times."
    )
    atomic_write(path, dumps(d, header[:2000]))
    return path
