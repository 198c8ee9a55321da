"""The HTML report and the report/compare commands, from hand-written documents and histories."""

import json
import re

import pytest

from harness.checkers import histograms
from harness.cli import main
from harness.report.html import render_report, timeline_of
from harness.report.plots import spectrum_points
from harness.results import Report, ScenarioResult
from harness.report.summary import worst_probe
from harness.stats import summarize_us

SECRET = "pw-Zq81-not-for-eyes"


def row(values, errors=0):
    return {**summarize_us(values, errors), "host_stall_corrected": 0,
            "hdr": histograms.encode(histograms.of_latencies_us(values))}


def entry():
    return {
        "name": "rst", "verdict": "fail", "reason": "1 bound(s) violated", "dialect": "smb3",
        "drop": {"mode": "rst", "at_s": 2.0, "evidence": {"server_socket_after": "gone"},
                 "evidence_at_s": 2.05},
        "probes": {"nbstat": {"baseline": row([200] * 40), "fault": row([200] * 30 + [900_000] * 3, 2),
                              "recovery": row([200] * 150)}},
        "violations": [{"probe": "nbstat", "phase": "fault", "stat": "p99", "observed_us": 900_000,
                        "limit_us": 100_000, "basis": "max"}],
        "bounds": {"default": {"p99_floor_ms": 100.0, "p99_factor": 5.0, "max_floor_ms": 250.0,
                               "max_factor": 10.0, "max_errors": 0}, "per_probe": {}},
        "phases": {"warmup": [0, 0.5], "baseline": [0.5, 2.0], "fault": [2.0, 4.0],
                   "recovery": [4.0, 6.0]},
    }


def events():
    ev = []
    for seq, (t, outcome, lat) in enumerate([(1.0, "ok", 200), (1.1, "ok", 250), (2.2, "fail", 3000),
                                             (2.3, "info", None), (2.4, None, None), (4.5, "ok", 300)]):
        ev.append({"t_s": t, "type": "invoke", "process": "nbstat", "probe": "nbstat", "seq": seq,
                   "phase": "x", "intended_s": t, "role": "healthy"})
        if outcome:
            ev.append({"t_s": t + 0.01, "type": outcome, "process": "nbstat", "probe": "nbstat",
                       "seq": seq, **({"latency_us": lat} if lat else {}), "error": "e"})
    ev += [{"t_s": 2.0, "type": "drop", "event": "start", "mode": "rst"},
           {"t_s": 2.01, "type": "drop", "event": "end", "mode": "rst"},
           {"t_s": 2.05, "type": "drop", "event": "evidence", "mode": "rst", "evidence": {}},
           {"t_s": 2.02, "type": "server", "source": "replica", "event": "trigger"},
           {"t_s": 3.02, "type": "server", "source": "replica", "event": "recover"},
           {"t_s": 3.5, "type": "canary", "late_us": 40_000.0},
           {"t_s": 3.6, "type": "canary", "late_us": 300.0},
           {"t_s": 0.0, "type": "client", "name": "c1", "password": SECRET}]
    return ev


def doc():
    return {"version": 1, "target": "local smb://root@10.213.0.1:139/share (SRV)",
            "summary": {"pass": 0, "fail": 1, "error": 0, "skip": 0}, "scenarios": [entry()]}


def test_timeline_holds_every_operation_and_mark():
    tl = timeline_of(ScenarioResult.from_json(entry()), events())
    kinds = [p.kind for p in tl.series["nbstat"]]
    assert kinds.count("ok") == 3 and kinds.count("fail") == 1 and kinds.count("timeout") == 2
    assert tl.fault == (2.0, 2.01) and tl.fault_phase == (2.0, 4.0)
    assert {k for _, _, k in tl.marks} == {"evidence", "trigger", "recover"}
    assert tl.stalls == [pytest.approx((3.46, 3.5))]


def test_page_is_self_contained_and_shows_everything():
    html = render_report(Report.from_json(doc()), {"rst": events()}, "9.9.9")
    assert 'data-series="nbstat" data-ok="3" data-failed="1" data-timeouts="2"' in html
    for mark in ("fault-window", "fault-phase", "evidence", "trigger", "recover", "machine-stall"):
        assert f'data-mark="{mark}"' in html
    assert re.findall(r'data-spectrum="(\w+)"', html) == ["nbstat"]
    assert html.count('class="series" data-series="') == 1 + 3  # timeline + three phases
    assert "p99 (max, n&lt;100)" in html and "max*" in html
    assert "nbt-harness 9.9.9" in html and "server_socket_after" in html and "smb3" in html
    # no script, nothing fetched: no src or href outside the page, no url()
    assert "<script" not in html and "src=" not in html and "url(" not in html
    assert not [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")]
    assert SECRET not in html


def test_a_run_that_skipped_everything_says_nothing_was_tested():
    skipped = {**doc(), "scenarios": [{"name": n, "verdict": "skip", "reason": "no <SMB 3.1.1>"}
                                      for n in ("baseline", "rst")]}
    html = render_report(Report.from_json(skipped), {}, "9.9.9")
    assert "nothing was tested: all 2 scenarios were skipped: no &lt;SMB 3.1.1&gt;" in html
    assert "nothing was tested" not in render_report(Report.from_json(doc()), {}, "9.9.9")


def test_worst_probe_is_the_one_furthest_past_its_limit():
    w = worst_probe(ScenarioResult.from_json(entry()))
    assert (w["probe"], w["phase"], w["stat"], w["basis"]) == ("nbstat", "fault", "p99", "max, n<100")
    assert w["observed_us"] == 900_000 and w["limit_us"] == 100_000


def test_spectrum_points_are_the_quantile_steps():
    pts = spectrum_points([(100, 1), (200, 1)])
    assert pts == [(1.0, 100.0), (2.0, 100.0), (2.0, 200.0), (4.0, 200.0)]
    assert spectrum_points([]) == []


def _write_run(tmp_path, name="run", target="t"):
    d = tmp_path / name
    (d / "rst").mkdir(parents=True)
    (d / "report.json").write_text(json.dumps({**doc(), "target": target}))
    (d / "rst" / "history.jsonl").write_text("\n".join(json.dumps(e) for e in events()) + "\n")
    return d


def test_report_command_writes_the_page(tmp_path, capsys):
    d = _write_run(tmp_path)
    assert main(["report", str(d)]) == 0
    assert 'data-timeline="rst"' in (d / "report.html").read_text()
    assert main(["report", str(d), "-o", str(tmp_path / "x.html")]) == 0
    assert (tmp_path / "x.html").is_file()


@pytest.mark.parametrize("argv_of", [
    lambda t: ["report", str(t / "missing")],
    lambda t: ["report", str(t / "notjson")],
    lambda t: ["report", str(t / "notreport")],
    lambda t: ["compare", str(t / "missing"), str(t / "run")],
    lambda t: ["compare", str(t / "run"), str(t / "notreport")],
    lambda t: ["compare", str(t / "run"), str(t / "other")],
    lambda t: ["compare", str(t / "run"), str(t / "run"), "--alpha", "2"],
    lambda t: ["compare", str(t / "run"), str(t / "run"), "--html", str(t / "no" / "x.html")],
    lambda t: ["report", str(t / "run"), "-o", str(t / "no" / "x.html")],
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv_of):
    _write_run(tmp_path)
    other = _write_run(tmp_path, "other")
    (other / "report.json").write_text(json.dumps({**doc(), "scenarios": [{**entry(), "name": "fin"}]}))
    (tmp_path / "notjson").mkdir()
    (tmp_path / "notjson" / "report.json").write_text("{not json")
    (tmp_path / "notreport").write_text(json.dumps({"hello": 1}))
    assert main(argv_of(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nbt-harness: error:") and "Traceback" not in err


def test_compare_same_run_exits_0_and_writes_html(tmp_path, capsys):
    d = _write_run(tmp_path)
    assert main(["compare", str(d), str(d / "report.json"), "--html", str(tmp_path / "c.html")]) == 0
    out = capsys.readouterr().out
    assert "0 regressed" in out
    assert 'data-spectrum="rst/nbstat/fault"' in (tmp_path / "c.html").read_text()


def test_the_summary_row_names_an_error_count_violation_first():
    bad = {**entry(), "violations": [{"probe": "nbstat", "phase": "fault", "stat": "errors",
                                      "observed_us": None, "limit_us": None, "observed": 3, "limit": 0}]}
    html = render_report(Report.from_json({**doc(), "scenarios": [bad]}), {}, "9.9.9")
    assert "nbstat fault errors: 3 &gt; limit 0" in html


def test_a_violation_says_what_it_waited_on():
    said = "smb_contend waited 10.0 s (timed out): the victim's open (share R, BATCH oplock) stood"
    bad = {**entry(), "violations": [{"probe": "smb_contend", "phase": "fault",
                                      "stat": "time_to_access", "observed_us": None,
                                      "limit_us": 8_000_000, "waited_on": said}]}
    html = render_report(Report.from_json({**doc(), "scenarios": [bad]}), {}, "9.9.9")
    assert "<th>waited on</th>" in html
    assert "the victim&#x27;s open (share R, BATCH oplock) stood" in html
    assert "<th>waited on</th>" not in render_report(Report.from_json(doc()), {}, "9.9.9")


def several_drops():
    """A run of two drops on two victims: the first proven, the second not."""
    drops = [{"index": 0, "mode": "rst", "victim": "10.213.0.2:40001", "scheduled_s": 2.0,
              "at_s": 2.001, "evidence": {"server_socket_after": "gone"}, "evidence_at_s": 2.04},
             {"index": 1, "mode": "fin", "victim": "10.213.0.3:40002", "scheduled_s": 3.5,
              "at_s": 3.502, "evidence": None, "no_evidence": "no server-side evidence within 5.0s"}]
    ev = [{"t_s": -0.1, "type": "drop", "event": "scheduled", "index": d["index"], "mode": d["mode"],
           "at_s": d["scheduled_s"], "victim": d["victim"]} for d in drops]
    ev += [{"t_s": d["at_s"], "type": "drop", "event": "start", "index": d["index"], "mode": d["mode"]}
           for d in drops]
    ev += [{"t_s": 2.04, "type": "drop", "event": "evidence", "index": 0, "mode": "rst",
            "evidence": drops[0]["evidence"]},
           {"t_s": 8.5, "type": "drop", "event": "no_evidence", "index": 1, "mode": "fin",
            "reason": drops[1]["no_evidence"]}]
    return {**entry(), "verdict": "error", "drops": drops}, ev


def test_a_run_of_several_drops_marks_each_and_lists_each_proof():
    doc_entry, ev = several_drops()
    tl = timeline_of(ScenarioResult.from_json(doc_entry), ev)
    assert [(t, label) for t, label, kind in tl.marks if kind == "drop"] == [
        (2.001, "drop 0 rst"), (3.502, "drop 1 fin")]
    assert [(t, label) for t, label, kind in tl.marks if kind == "evidence"] == [(2.04, "evidence 0")]
    html = render_report(Report.from_json({**doc(), "scenarios": [doc_entry]}), {"rst": ev}, "9.9.9")
    assert "<h3>Drops: 2</h3>" in html and html.count('data-mark="drop"') == 2
    assert "10.213.0.3:40002" in html and "3.500" in html and "3.502" in html
    assert "unproven: no server-side evidence within 5.0s" in html
    assert '<tr class="fail"><td>1</td><td>fin</td>' in html  # the unproven drop's row stands out
    assert '<tr class=""><td>0</td><td>rst</td>' in html
