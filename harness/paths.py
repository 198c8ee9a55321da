"""Where the shipped files are: the scenarios and the container's build files.

In a checkout they are at the top of the repository (scenarios/, docker/); an installed wheel
carries them as package data (harness/shipped_scenarios, harness/shipped_docker), mapped from
those folders by pyproject.toml. Never the current directory: a project that happens to have
a scenarios/ folder is not ours to read (or, for .py scenarios, to execute).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """The shipped ``scenarios`` or ``docker`` directory."""
    packaged = PACKAGE_DIR / f"shipped_{name}"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name
