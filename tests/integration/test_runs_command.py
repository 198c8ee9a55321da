"""nbt-harness runs: real runs kept under one runs directory are listed, index.html shows
each run and a p99 trend over them, and opens in headless Chromium (Debian's, driven by
Playwright) with nothing fetched; compare --against latest-pass finds the newest passing run
of the same target, and says so in one line when there is none."""

import shutil
import tempfile

import pytest

from tests.conftest import FAST
from tests.support.cli import CHROMIUM_ARGS
from tests.support.cli import harness_cli as cli

pytestmark = pytest.mark.integration
SETS = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Two passing local runs of baseline, then a failing replica run (no pcap: not needed)."""
    d = tmp_path_factory.mktemp("runs")
    for target, code in (("local", 0), ("local", 0), ("replica:any", 1)):
        done = cli("run", "baseline" if target == "local" else "rst", "--target", target,
                   "--runs-dir", str(d), "--quiet", "--pcap", "never",
                   *(SETS if target == "local" else [*SETS, "--set", "phases.fault_s=2.0"]))
        assert done.returncode == code, done.stdout + done.stderr
    return d


def run_names(d):
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.is_symlink())


def test_runs_lists_each_kept_run_once_and_writes_the_index(runs_dir):
    done = cli("runs", str(runs_dir))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = run_names(runs_dir)
    assert len(names) == 3 and lines[-1].startswith("3 run(s); index: ")
    for line, name in zip(lines, names):  # oldest first, 'latest' not listed again
        assert name in line and "Samba" in line and "dialect 3.1.1" in line
    assert lines[0].split()[3] == "local" and "1 pass, 0 fail" in lines[0]
    assert lines[2].split()[3] == "replica:any" and "0 pass, 1 fail" in lines[2]
    html = (runs_dir / "index.html").read_text()
    for name in names:
        assert f'href="{name}/report.html"' in html
    assert 'data-trend="baseline"' in html and 'data-trend="rst"' in html


def test_index_opens_in_chromium_with_a_trend_over_two_runs(runs_dir):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no {CHROMIUM} (Debian's chromium package)")
    assert cli("runs", str(runs_dir)).returncode == 0
    index = runs_dir / "index.html"
    requests, page_errors = [], []
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            page = ctx.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(index.as_uri(), wait_until="load", timeout=30_000)
            rows = page.eval_on_selector_all("table tr", "els => els.length")
            drawn = page.eval_on_selector_all(
                '[data-trend="baseline"] svg g.series',
                "els => els.map(e => [e.dataset.series, +e.dataset.points,"
                " e.querySelectorAll('circle').length, e.getBBox().width])")
        finally:
            ctx.close()
    assert not page_errors and requests == [index.as_uri()]  # everything inline
    assert rows == 1 + 3
    assert {"nbstat", "smb_echo"} <= {d[0] for d in drawn}, drawn
    for series, points, dots, width in drawn:
        assert points == dots == 2 and width > 100, (series, points, dots, width)  # a line over 2 runs


def test_compare_against_latest_pass(runs_dir):
    first, second, replica = run_names(runs_dir)
    done = cli("compare", str(runs_dir / second), "--against", "latest-pass", "--runs-dir", str(runs_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == f"nbt-harness: latest passing run of local: {runs_dir / first}\n"
    assert done.stdout.startswith(f"compare  base: {runs_dir / first}\n")
    assert "verdicts (base > new" in done.stdout
    # the runs directory's latest (the replica run) has no passing run of its target
    done = cli("compare", "--against", "latest-pass", "--runs-dir", str(runs_dir))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"nbt-harness: error: no passing run of target replica:any "
                                   f"before {replica} in {runs_dir}")
    done = cli("compare", str(runs_dir / first))
    assert done.returncode == 2 and "compare needs BASE and NEW" in done.stderr


def test_runs_of_a_missing_directory_is_bad_input(tmp_path):
    done = cli("runs", str(tmp_path / "nope"))
    assert done.returncode == 2 and done.stderr.strip() == (
        f"nbt-harness: error: no runs directory at {tmp_path / 'nope'}")
