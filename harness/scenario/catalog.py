"""The scenario catalog: every scenario a scenario directory holds, grouped by folder, as
``nbt-harness list`` shows it (text, or ``--json`` for automation).

The top folder holds the scenarios a bare ``nbt-harness run`` runs. Each sub-folder is an
opt-in group (``scenarios/holdings/``): ``nbt-harness run holdings`` runs all of it, and
``nbt-harness run holdings/batch_oplock-pause`` one of its scenarios. Every name listed here
is one that ``harness.scenario.files.resolve`` (what ``run`` uses) accepts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from harness.scenario.files import load_file, scenario_files
from harness.scenario.model import Scenario

TOP_NAME_WIDTH = 12  # the name column of the top folder's lines (unchanged since the first list)


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # as `nbt-harness run NAME` accepts it: "rst", "holdings/batch_oplock-pause"
    folder: str | None  # the group folder; None: the top folder (the default run)
    file: str  # the file, relative to the scenario directory (posix)
    scenario: Scenario


def group_dirs(directory: Path, scripts: bool = False) -> list[Path]:
    """The sub-folders that ``run GROUP`` accepts (a real directory, not a symlink, not
    hidden) and that hold at least one scenario file."""
    return sorted(
        d
        for d in Path(directory).iterdir()
        if d.is_dir()
        and not d.is_symlink()
        and not d.name.startswith(("_", "."))
        and scenario_files(d, scripts)
    )


def load_catalog(directory: Path, scripts: bool = False) -> list[CatalogEntry]:
    """Every scenario of ``directory``: its top folder first, then each group folder in name
    order. Loads each file (bad input in one is BadInput, as for ``run``); ``scripts``: also
    .py scenarios (only from a directory the user named)."""
    directory = Path(directory)
    out = [
        CatalogEntry(p.stem, None, p.name, load_file(p)) for p in scenario_files(directory, scripts)
    ]
    for group in group_dirs(directory, scripts):
        out += [
            CatalogEntry(
                f"{group.name}/{p.stem}", group.name, f"{group.name}/{p.name}", load_file(p)
            )
            for p in scenario_files(group, scripts)
        ]
    return out


def entry_json(entry: CatalogEntry) -> dict:
    """One entry of ``list --json`` (keys are a contract: extend, never rename)."""
    sc = entry.scenario
    return {
        "name": entry.name,
        "folder": entry.folder,
        "default_run": entry.folder is None,
        "file": entry.file,
        "scenario": sc.name,  # what report.json and the run's output call it
        "description": sc.description,
        "drop": sc.drop.mode if sc.drop else None,
        "drop_params": dict(sc.drop.params) if sc.drop else {},
        "holding": sc.victim.holds if sc.victim else None,
        "probes": sc.probes,
        "healthy_clients": sc.healthy_clients,
        "dialect": sc.dialect,
        "transport": sc.transport,
        "phases_s": asdict(sc.phases),
        "duration_s": round(sum(end - start for _, start, end in sc.phases.spans()), 3),
    }


def catalog_json(entries: list[CatalogEntry]) -> list[dict]:
    return [entry_json(e) for e in entries]


def _line(entry: CatalogEntry, width: int, holds_width: int) -> str:
    sc = entry.scenario
    drop = sc.drop.mode if sc.drop else "none"
    holds = f"holds={sc.victim.holds:<{holds_width}} " if sc.victim else ""
    return f"{entry.name:<{width}} drop={drop:<10} {holds}{sc.description}"


def _lines(entries: list[CatalogEntry], width: int) -> list[str]:
    holds_width = (
        max((len(e.scenario.victim.holds) for e in entries if e.scenario.victim), default=0) + 1
    )
    return [_line(e, width, holds_width) for e in entries]


def render_catalog(entries: list[CatalogEntry]) -> str:
    """The text of ``nbt-harness list``: the top folder's scenarios one a line, as they always
    were (``NAME drop=MODE DESCRIPTION``), then per group folder a header line and its
    scenarios. The first word of every line is a name ``run`` accepts (a header's is the
    group's). No blank lines: scripts read the first word of each line."""
    lines = _lines([e for e in entries if e.folder is None], TOP_NAME_WIDTH)
    groups: dict[str, list[CatalogEntry]] = {}
    for e in entries:
        if e.folder is not None:
            groups.setdefault(e.folder, []).append(e)
    for folder, members in groups.items():
        lines.append(
            f"{folder:<{TOP_NAME_WIDTH}} group of {len(members)} scenarios, not in the "
            f"default run: 'nbt-harness run {folder}' runs them all, "
            f"'nbt-harness run {members[0].name}' one"
        )
        lines += _lines(members, max(len(e.name) for e in members))
    return "\n".join(lines)
