"""The documentation site builds with `mkdocs build --strict` (a broken link or any warning
fails), and a broken link does fail it. Needs the test extra (mkdocs, mkdocs-material), not
root."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 120


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # the theme's banner, not a build warning
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )


def test_site_builds_strict_with_generated_reference(tmp_path):
    done = build(ROOT / "docs" / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    probes = (tmp_path / "site" / "reference" / "probes" / "index.html").read_text()
    assert "smb_contend" in probes
    keys = (tmp_path / "site" / "reference" / "scenario-keys" / "index.html").read_text()
    assert "durable_timeout_ms" in keys
    assert (tmp_path / "site" / "img" / "report.png").is_file()


def test_a_broken_link_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("__pycache__"))
    page = docs / "pages" / "results.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    done = build(docs / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def test_paths_in_the_concept_map_and_readme_exist():
    """The concepts page's map from concept to package, and the README, name real paths."""
    import re

    for doc in (ROOT / "docs" / "pages" / "concepts.md", ROOT / "README.md"):
        paths = re.findall(r"`((?:harness|docs|tests|scenarios|docker)/[^`*<>]*)`", doc.read_text())
        assert paths, doc
        missing = [p for p in paths if not (ROOT / p).exists()]
        assert missing == [], f"{doc.name} names paths that do not exist: {missing}"
