"""Installed as a user installs it: a wheel (not editable) in a fresh virtualenv, used from a
directory outside the checkout. The wheel must carry the shipped scenarios and the
container's build files. The fresh venv borrows the already-installed dependencies (a .pth
line to this venv's site-packages) instead of downloading them, to keep this to seconds."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FAST

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def run(*cmd, cwd, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_wheel_in_a_fresh_venv_lists_and_runs_from_anywhere(tmp_path):
    dist = tmp_path / "dist"
    done = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "-w",
        dist,
        REPO,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    wheel = next(dist.glob("nbt_harness-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {p.name for p in (REPO / "scenarios").glob("*.toml")}
    assert shipped and shipped <= {
        Path(n).name for n in names if n.startswith("harness/shipped_scenarios/")
    }
    for f in (REPO / "scenarios").glob("*/*.toml"):  # opt-in groups (scenarios/holdings/)
        assert f"harness/shipped_scenarios/{f.relative_to(REPO / 'scenarios').as_posix()}" in names
    for f in (REPO / "docker" / "samba").iterdir():
        assert f"harness/shipped_docker/samba/{f.name}" in names
    # every package of the source tree is in the wheel (pyproject lists them by name)
    for init in (REPO / "harness").rglob("__init__.py"):
        assert init.relative_to(REPO).as_posix() in names, init

    venv = tmp_path / "venv"
    done = run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    site = Path(
        run(
            venv / "bin" / "python",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=tmp_path,
        ).stdout.strip()
    )
    (site / "nbth-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        wheel,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(
        venv / "bin" / "python",
        "-c",
        "import harness, harness.targets.docker as d; "
        "print(harness.__file__); print(d.CONTEXT_DIR)",
        cwd=elsewhere,
    ).stdout.split()
    assert where[0].startswith(str(venv)), where  # the installed copy, not the checkout
    assert where[1].startswith(str(venv)) and (Path(where[1]) / "Dockerfile").is_file()

    # --version: the one version (harness.__version__) in the installed metadata too
    done = run(venv / "bin" / "nbt-harness", "--version", cwd=elsewhere)
    meta = run(venv / "bin" / "python", "-c", "import importlib.metadata as m; "
               "print(m.version('nbt-harness'), m.metadata('nbt-harness')['License-Expression'])",
               cwd=elsewhere)
    version = __import__("harness").__version__
    assert done.stdout == f"nbt-harness {version}\n", done.stdout + done.stderr
    assert meta.stdout.split() == [version, "Apache-2.0"], meta.stdout + meta.stderr
    assert "nbt_harness-" + version + ".dist-info/licenses/LICENSE" in names

    done = run(venv / "bin" / "nbt-harness", "list", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert {line.split()[0] for line in done.stdout.splitlines()} >= {
        p.removesuffix(".toml") for p in shipped
    }

    sets = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
    done = run(
        venv / "bin" / "nbt-harness",
        "run",
        "baseline",
        "--quiet",
        "--report-dir",
        "rep",
        *sets,
        cwd=elsewhere,
    )
    assert done.returncode == 0 and "baseline: pass" in done.stdout, done.stdout + done.stderr
    assert (elsewhere / "rep" / "report.json").is_file()
