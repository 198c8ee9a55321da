"""Scenario files: declarative TOML files (or Python scripts defining SCENARIO) under
scenarios/, found by name, by path or by group directory, and loaded into the model
(harness.scenario.model)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from harness.errors import BadInput
from harness.paths import shipped
from harness.scenario.model import Scenario, from_dict


def load_file(path: Path) -> Scenario:
    """Load a scenario from a .toml file or a .py script defining SCENARIO."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such scenario file")
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: not valid TOML: {exc}") from None
        return from_dict(data, str(path))
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"nbth_scenario_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise BadInput(f"{path}: cannot be loaded as a Python script")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 a scenario script may raise anything
            raise BadInput(
                f"{path}: the script failed to load: {type(exc).__name__}: {exc}"
            ) from None
        scenario = getattr(module, "SCENARIO", None)
        if isinstance(scenario, dict):
            return from_dict(scenario, str(path))
        if not isinstance(scenario, Scenario):
            raise BadInput(
                f"{path}: a scenario script must define SCENARIO (a harness.scenario.Scenario)"
            )
        return from_dict(scenario.to_dict(), str(path))
    raise BadInput(f"{path}: a scenario is a .toml file or a .py script")


def default_dir() -> Path:
    """The shipped scenarios (the checkout's scenarios/, or the installed wheel's copy).
    Never the working directory: another directory is used only when given explicitly."""
    return shipped("scenarios")


def scenario_files(directory: Path, scripts: bool = False) -> list[Path]:
    """The scenario files of a directory: .toml always, .py scripts (which are executed to
    load them) only with ``scripts``, i.e. a directory the user named explicitly."""
    suffixes = (".toml", ".py") if scripts else (".toml",)
    return sorted(
        p
        for p in Path(directory).iterdir()
        if p.suffix in suffixes and not p.name.startswith(("_", "."))
    )


def resolve(names: list[str], directory: Path | None = None) -> list[Scenario]:
    """Scenarios by name (file stem or path); all in the directory when names is empty."""
    scripts = directory is not None  # .py scenarios run only from a directory given explicitly
    directory = directory or default_dir()
    if not names:
        if not directory.is_dir():
            raise BadInput(f"no scenario directory at {directory}")
        return [load_file(p) for p in scenario_files(directory, scripts)]
    out = []
    for name in names:
        path = Path(name)
        if path.suffix in (".toml", ".py") and path.exists():
            out.append(load_file(path))
            continue
        group = directory / name  # an opt-in group of scenarios (e.g. holdings): all of it
        if (
            "/" not in name
            and name not in (".", "..")
            and group.is_dir()
            and not group.is_symlink()
        ):
            out.extend(load_file(p) for p in scenario_files(group, scripts))
            continue
        candidates = [directory / f"{name}.toml"] + ([directory / f"{name}.py"] if scripts else [])
        matches = [p for p in candidates if p.is_file()]
        if not matches:
            known = (
                ", ".join(p.stem for p in scenario_files(directory, scripts))
                if directory.is_dir()
                else ""
            )
            raise BadInput(f"unknown scenario {name!r} (known: {known})")
        out.append(load_file(matches[0]))
    return out
