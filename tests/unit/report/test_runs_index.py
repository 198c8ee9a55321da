"""The runs index: summaries of hand-written reports, the newest passing run of a target,
the p99 trends and the page (pure)."""

from datetime import UTC, datetime

from harness.report.plots import trend_svg
from harness.results import Report
from harness.report.runs_index import in_order, latest_pass, render_index, summarize, trends


def report(target, verdicts, p99=None, server="Samba 4.17.12-Debian", dialect="3.1.1"):
    return Report.from_json({"version": 1, "target": target, "server": server, "scenarios": [
        {"name": f"s{i}", "verdict": v, "negotiated": {"dialect": dialect, "transport": "nbt"},
         "probes": {} if p99 is None else {"smb_echo": {"fault": {
             "count": 100, "errors": 0, "p50_us": 500, "p99_us": p99, "max_us": p99,
             "p99_basis": "p99"}}}}
        for i, v in enumerate(verdicts)]})


def run(name, target="local smb://root@10.213.0.1", verdicts=("pass",), p99=1000, **kw):
    return summarize(name, 0.0, report(target, verdicts, p99, **kw))


def test_summary_and_its_line():
    r = run("20261126T171500Z-local", verdicts=("pass", "fail", "skip"))
    assert r.started == datetime(2026, 11, 26, 17, 15, tzinfo=UTC)
    assert r.target_kind == "local" and r.dialects == ("3.1.1",) and not r.passed
    assert r.line() == ("2026-11-26 17:15:00Z  20261126T171500Z-local  local  Samba 4.17.12-Debian  "
                        "dialect 3.1.1  1 pass, 1 fail, 0 error, 1 skip")
    assert run("20261126T171500Z-local", verdicts=("pass", "skip")).passed
    assert not run("x", verdicts=("skip",)).passed
    # a directory not named by its start time: its report's modification time
    assert summarize("mine", 86400.0, report("local", ["pass"])).started == datetime(1970, 1, 2, tzinfo=UTC)


def test_latest_pass_is_the_newest_passing_run_of_the_same_target_before_the_run():
    runs = [run("20261101T000000Z-local"), run("20261102T000000Z-local"),
            run("20261103T000000Z-replica", target="replica:any x"),
            run("20261104T000000Z-local", verdicts=("fail",)),
            run("20261105T000000Z-local")]
    assert latest_pass(runs, runs[3]).name == "20261102T000000Z-local"
    assert latest_pass(runs, runs[4]).name == "20261102T000000Z-local"  # never itself
    assert latest_pass(runs, runs[2]) is None  # no other replica run
    assert latest_pass(runs, runs[0]) is None  # nothing before it


def test_trends_follow_the_runs_in_order_with_gaps():
    runs = in_order([run("20261103T000000Z-local", p99=3000), run("20261101T000000Z-local", p99=1000),
                     run("20261102T000000Z-local", p99=None)])
    assert [r.name[:8] for r in runs] == ["20261101", "20261102", "20261103"]
    assert trends(runs) == {"s0": {"smb_echo": [1000, None, 3000]}}


def test_trend_plot_draws_one_series_per_probe_with_its_points():
    svg = trend_svg(["a", "b", "c"], {"smb_echo": [1000, None, 3000], "nbstat": [200, 300, 400]}, "t")
    assert svg.startswith("<svg") and svg.count('class="series"') == 2
    assert 'data-series="smb_echo" data-points="2"' in svg and 'data-points="3"' in svg
    echo = svg.split('data-series="smb_echo"')[1].split("</g>")[0]
    assert echo.count("M") == 2 and "L" not in echo.split('d="')[1].split('"')[0]  # the gap


def test_index_page_lists_every_run_and_a_trend_per_scenario():
    runs = [run("20261101T000000Z-local"), run("20261102T000000Z-local", verdicts=("fail",), p99=9000)]
    html = render_index(runs, "1.2.3")
    assert html.startswith("<!DOCTYPE html>") and "default-src 'none'" in html
    assert 'href="20261101T000000Z-local/report.html"' in html and "1 fail" in html
    assert html.count('data-trend="s0"') == 1 and 'data-points="2"' in html
    assert "<script" not in html and "src=" not in html  # nothing to fetch from file://
