"""nbt-harness list: the catalog of the shipped scenarios (every folder), its text and its
JSON; every name it gives is one `run` accepts (scenario.files.resolve, what cmd_run uses)."""

import json
import os

import pytest

from harness.errors import BadInput
from harness.scenario.catalog import (
    TOP_NAME_WIDTH,
    CatalogEntry,
    catalog_json,
    entry_json,
    group_dirs,
    load_catalog,
    render_catalog,
)
from harness.scenario.files import default_dir, resolve, scenario_files
from harness.scenario.model import DropSpec, Scenario
from harness.scenario.victim import VictimSpec

SHIPPED = default_dir()


def test_every_shipped_scenario_is_listed_grouped_by_folder():
    entries = load_catalog(SHIPPED)
    files = sorted(p.relative_to(SHIPPED).as_posix() for p in SHIPPED.rglob("*.toml"))
    assert sorted(e.file for e in entries) == files and len(files) >= 31
    top = [e for e in entries if e.folder is None]
    assert [e.name for e in top] == [p.stem for p in scenario_files(SHIPPED)]  # the default run
    holdings = [e for e in entries if e.folder == "holdings"]
    assert len(holdings) == len(list((SHIPPED / "holdings").glob("*.toml"))) >= 21
    assert "holdings/batch_oplock-pause" in [e.name for e in holdings]
    assert all(e.scenario.victim is not None for e in holdings)
    # top folder first, then each group's members together
    folders = [e.folder for e in entries]
    assert folders == sorted(folders, key=lambda f: (f is not None, f or ""))


def test_every_name_listed_is_one_run_accepts():
    entries = load_catalog(SHIPPED)
    for entry in entries:
        (sc,) = resolve([entry.name])
        assert sc.source.endswith(entry.file) and sc.name == entry.scenario.name
    # the text's first word of every line too (a group's header names the whole group)
    firsts = [line.split()[0] for line in render_catalog(entries).splitlines()]
    assert set(firsts) == {e.name for e in entries} | {"holdings", "connected", "repeated"}
    for folder in ("holdings", "connected", "repeated"):
        assert len(resolve([folder])) == len([e for e in entries if e.folder == folder])


def test_top_folder_lines_are_as_they_always_were():
    # the format `list` printed before it showed groups: automation may parse it
    entries = load_catalog(SHIPPED)
    lines = render_catalog(entries).splitlines()
    for entry, line in zip([e for e in entries if e.folder is None], lines):
        sc = entry.scenario
        drop = sc.drop.mode if sc.drop else "none"
        assert line == f"{entry.name:<12} drop={drop:<10} {sc.description}"
    assert "" not in lines  # no blank line: scripts take the first word of each line


def _sc(name, drop=None, holds=None, description="d"):
    return Scenario(name=name, description=description,
                    drop=DropSpec(drop) if drop else None,
                    victim=VictimSpec(holds=holds) if holds else None)


def test_render_by_hand():
    entries = [CatalogEntry("rst", None, "rst.toml", _sc("rst", "rst", description="resets")),
               CatalogEntry("baseline", None, "baseline.toml", _sc("baseline")),
               CatalogEntry("g/a-rst", "g", "g/a.toml", _sc("a-rst", "rst", "lease_rwh", "A")),
               CatalogEntry("g/long-name", "g", "g/long-name.toml", _sc("x", "pause", "deny", "B"))]
    assert render_catalog(entries).splitlines() == [
        "rst          drop=rst        resets",
        "baseline     drop=none       d",
        (f"{'g':<{TOP_NAME_WIDTH}} group of 2 scenarios, not in the default run: "
         "'nbt-harness run g' runs them all, 'nbt-harness run g/a-rst' one"),
        "g/a-rst     drop=rst        holds=lease_rwh  A",
        "g/long-name drop=pause      holds=deny       B",
    ]


def test_json_entries():
    entries = load_catalog(SHIPPED)
    doc = json.loads(json.dumps(catalog_json(entries)))
    keys = {"name", "folder", "default_run", "file", "scenario", "description", "drop",
            "drop_params", "holding", "probes", "healthy_clients", "dialect", "transport",
            "phases_s", "duration_s"}
    assert all(set(d) == keys for d in doc)
    by_name = {d["name"]: d for d in doc}
    pause = by_name["holdings/batch_oplock-pause"]
    assert pause["folder"] == "holdings" and pause["default_run"] is False
    assert pause["drop"] == "pause" and pause["holding"] == "batch_oplock"
    assert pause["file"] == "holdings/batch_oplock-pause.toml"
    assert pause["duration_s"] == sum(pause["phases_s"].values()) and "smb_contend" in pause["probes"]
    baseline = by_name["baseline"]
    assert baseline["folder"] is None and baseline["default_run"] is True
    assert baseline["drop"] is None and baseline["holding"] is None
    assert entry_json(entries[0])["name"] == entries[0].name


def test_groups_are_real_visible_folders_with_scenarios(tmp_path):
    (tmp_path / "top.toml").write_text("name = 'top'\n")
    for folder in ("grp", ".hidden", "_private", "empty", "scripts"):
        (tmp_path / folder).mkdir()
    for folder in ("grp", ".hidden", "_private"):
        (tmp_path / folder / "one.toml").write_text("name = 'one'\n")
    (tmp_path / "scripts" / "s.py").write_text("SCENARIO = {'name': 's'}\n")
    os.symlink(tmp_path / "grp", tmp_path / "link")
    assert [d.name for d in group_dirs(tmp_path)] == ["grp"]
    assert [e.name for e in load_catalog(tmp_path)] == ["top", "grp/one"]
    # .py scenarios only from a directory the user named (scripts=True), as for run
    entries = load_catalog(tmp_path, scripts=True)
    assert [e.name for e in entries] == ["top", "grp/one", "scripts/s"]
    for e in entries:
        assert [s.name for s in resolve([e.name], tmp_path)] == [e.scenario.name]


def test_a_broken_file_in_a_group_is_bad_input(tmp_path):
    (tmp_path / "grp").mkdir()
    (tmp_path / "grp" / "bad.toml").write_text("name = \n")
    with pytest.raises(BadInput, match="bad.toml: not valid TOML"):
        load_catalog(tmp_path)
