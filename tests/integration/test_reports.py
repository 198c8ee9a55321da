"""report.html in a real browser, and compare on real runs: healthy against healthy (no
regression) and healthy against the Q186873 replica (regressions, exit 1).

The runs are shared by the module: two healthy runs and one through replica:any, scenario
rst with FAST phases. The browser is Debian's chromium driven by Playwright; the test skips
only when chromium or playwright is missing (.ci/setup installs both).
"""

import json
import shutil
import tempfile
from functools import partial

import pytest

from harness.checkers.ops import operations
from harness.history import read_events
from tests.conftest import FAST
from tests.support.cli import CHROMIUM_ARGS, harness_cli

pytestmark = pytest.mark.integration
SETS = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
CHROMIUM = "/usr/bin/chromium"
STALLED_PROBES = ("nbstat", "nbt_session", "smb_echo", "smb_rw")  # the replica freezes them all


cli = partial(harness_cli, timeout=180)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, target in (("healthy_a", "local"), ("healthy_b", "local"), ("replica", "replica:any")):
        done = cli("run", "rst", "--target", target, "--report-dir", str(base / name), "--quiet", *SETS)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        out[name] = base / name
    return out


def test_every_run_writes_its_html_report(runs):
    for d in runs.values():
        html = (d / "report.html").read_text()
        assert html.startswith("<!DOCTYPE html>") and 'data-timeline="rst"' in html
        assert "password" not in html.lower()
        assert len(html) < 1_000_000
        target = json.loads((d / "report.json").read_text())["target"]
        assert "[Samba 4." in target and "NBTHSRV" in target  # server build and name, shown
        assert "[Samba 4." in html


def test_compare_two_healthy_runs_finds_no_regression(runs, tmp_path):
    done = cli("compare", str(runs["healthy_a"]), str(runs["healthy_b"]), "--html", str(tmp_path / "c.html"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 regressed" in done.stdout
    assert 'data-spectrum="rst/smb_echo/fault"' in (tmp_path / "c.html").read_text()


def test_compare_healthy_with_the_replica_regresses_the_stalled_probes(runs):
    done = cli("compare", str(runs["healthy_a"]), str(runs["replica"] / "report.json"))
    assert done.returncode == 1, done.stdout + done.stderr
    regressed = {tuple(line.split()[:3]) for line in done.stdout.splitlines() if "REGRESSED" in line}
    assert {("rst", probe, "fault") for probe in STALLED_PROBES} <= regressed, done.stdout
    assert not {r for r in regressed if r[2] == "baseline"}, done.stdout  # before the drop: same


def test_report_opens_in_chromium_with_every_series(runs, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no {CHROMIUM} (Debian's chromium package)")
    report = runs["replica"] / "report.html"
    doc = json.loads((runs["replica"] / "report.json").read_text())
    console, requests, page_errors = [], [], []
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1040, "height": 1000})
        try:
            page = ctx.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load", timeout=30_000)
            for entry in doc["scenarios"]:
                name = entry["name"]
                ops = [o for o in operations(read_events(runs["replica"] / name / "history.jsonl"))
                       if o.role == "healthy"]
                drawn = page.eval_on_selector_all(
                    f'[data-timeline="{name}"] svg g.series',
                    "els => els.map(e => [e.dataset.series, +e.dataset.ok, +e.dataset.failed,"
                    " +e.dataset.timeouts, e.getBBox().width])")
                assert sorted(d[0] for d in drawn) == sorted(entry["probes"]), drawn
                for probe, ok, failed, timeouts, width in drawn:
                    mine = [o for o in ops if o.probe == probe]
                    assert ok == sum(o.outcome == "ok" for o in mine)
                    assert ok + failed + timeouts == len(mine)
                    assert width > 100  # spread over the run, really rendered
                assert page.locator(f'[data-timeline="{name}"] [data-mark="fault-window"]').count() == 1
                assert page.locator(f'[data-timeline="{name}"] [data-mark="evidence"]').count() == 1
                assert page.locator(f'[data-timeline="{name}"] [data-mark="trigger"]').count() >= 1
                spectra = page.eval_on_selector_all(
                    f'section[data-scenario="{name}"] [data-spectrum] polyline.series',
                    "els => els.map(e => e.closest('[data-spectrum]').dataset.spectrum + '/' + e.dataset.series)")
                assert sorted(spectra) == sorted(f"{pr}/{ph}" for pr in entry["probes"]
                                                 for ph in ("baseline", "fault", "recovery"))
                # each violation's waited-on sentence (checkers.waits) is on the page as written
                said = [v["waited_on"] for v in entry["violations"]]
                assert said and all(s.split(":")[0].endswith(")") for s in said), said
                cells = page.locator(f'section[data-scenario="{name}"] td').all_inner_texts()
                assert set(said) <= set(cells), (said, cells)
            shot = runs["replica"] / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            ctx.close()
    assert not page_errors and not [c for c in console if c.startswith("error")], console + page_errors
    assert requests == [report.as_uri()], requests
    assert shot.stat().st_size > 20_000
