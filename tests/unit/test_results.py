"""The typed result model against report.json: golden documents written by the dict-based
code that came before it (tests/support/report_cases.py), older reports, unknown keys."""

import json
from pathlib import Path

import pytest

from harness.findings import PhaseStats, Violation
from harness.results import Report, ScenarioResult

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_report.json").read_text())


def test_a_report_reads_back_to_the_same_bytes():
    doc = GOLDEN["report"]
    report = Report.from_json(doc)
    assert json.dumps(report.to_json(), indent=2) == json.dumps(doc, indent=2)
    assert report.summary == {"pass": 1, "fail": 1, "error": 2, "skip": 1}


def test_typed_fields_of_a_golden_entry():
    report = Report.from_json(GOLDEN["report"])
    failing = report.scenario("failing")
    assert failing.verdict == "fail" and failing.drop.mode == "rst" and failing.drop.proven
    basis = [v for v in failing.violations if v.basis == "max"]
    assert basis and basis[0].stat == "p99" and basis[0].observed_us == 400_000
    errors = next(v for v in failing.violations if v.stat == "errors")
    assert errors.observed_us is None and errors.observed >= 1 and errors.limit == 0
    row = failing.row("smb_echo", "fault")
    assert isinstance(row, PhaseStats) and row.p99_basis == "p99" and row.hdr.startswith("HISTF")
    assert failing.bound_for("nbstat")["p99_floor_ms"] == 50.0
    assert failing.bound_for("smb_echo")["p99_floor_ms"] == 100.0
    healthy = report.scenario("healthy")
    assert healthy.host_stalls.count == 1 and healthy.scratch.removed == ("nbth-1-c1.dat",)
    assert healthy.drop.after and healthy.drop.detail == {"linger": 0}


def test_an_unreachable_target_report_gains_only_host_stalls_and_problems():
    doc = GOLDEN["unreachable"]
    out = Report.from_json(doc).to_json()
    for old, new in zip(doc["scenarios"], out["scenarios"]):
        assert {k: v for k, v in new.items() if k not in ("host_stalls", "problems")} == old
        assert new["host_stalls"] is None
    built = ScenarioResult.errored("rst", "target unreachable: no smbd").to_json()
    assert built == {**doc["scenarios"][0], "host_stalls": None,
                     "problems": ["target unreachable: no smbd"]}


def test_unknown_keys_round_trip_everywhere():
    entry = json.loads(json.dumps(GOLDEN["report"]["scenarios"][1]))
    entry["violations"][0]["basis_detail"] = {"samples": 20}
    entry["drop"]["end_s"] = 3.001
    entry["probes"]["smb_echo"]["fault"]["p999_us"] = 123
    entry["host_stalls"]["windows"] = [[1.0, 1.1]]
    entry["time_to_access_s"] = 1.26
    entry["transport"] = "nbt"
    result = ScenarioResult.from_json(entry)
    assert result.extra == {"time_to_access_s": 1.26, "transport": "nbt"}
    assert result.violations[0].extra == {"basis_detail": {"samples": 20}}
    assert result.drop.extra == {"end_s": 3.001}
    assert result.to_json() == entry
    doc = {**GOLDEN["report"], "scenarios": [entry], "run_id": "x"}
    assert Report.from_json(doc).to_json() == {**doc, "summary": {"pass": 0, "fail": 1, "error": 0, "skip": 0}}


def test_an_older_entry_without_p99_basis_hdr_or_host_stalls_reads():
    old = {"name": "rst", "verdict": "pass", "reason": "all bounds held",
           "drop": {"mode": "rst", "at_s": 4.0, "evidence": {"x": 1}},
           "probes": {"nbstat": {"baseline": {"count": 10, "errors": 0, "p50_us": 110, "p99_us": 160,
                                              "max_us": 170}}},
           "violations": []}
    r = ScenarioResult.from_json(old)
    row = r.row("nbstat", "baseline")
    assert row.p99_basis == "max" and row.hdr is None and row.host_stall_corrected == 0
    assert r.host_stalls is None and r.drop.evidence_at_s is None


def test_dict_access_for_code_written_against_the_dict_entries():
    r = ScenarioResult(name="x", verdict="fail", reason="r",
                       violations=(Violation("nbstat", "fault", "p99", 9.0, 1.0),))
    assert r["verdict"] == "fail" and r.get("history") is None and "violations" in r
    assert r["violations"][0]["probe"] == "nbstat"


@pytest.mark.parametrize("bad", [[], {"scenarios": {}}, {"scenarios": [{"name": "x"}]},
                                 {"scenarios": [{"name": "x", "verdict": "pass", "probes": []}]},
                                 {"scenarios": [{"name": "x", "verdict": "pass", "violations": {}}]}])
def test_what_is_not_a_report_is_a_value_error(bad):
    with pytest.raises(ValueError):
        Report.from_json(bad)


def test_a_real_run_written_before_the_model_reads_back_to_the_same_bytes():
    # nbt-harness run rst --target replica:any (short phases), by the dict-based code
    text = (Path(__file__).parent / "data" / "report_replica_before.json").read_text()
    report = Report.from_json(json.loads(text))
    assert json.dumps(report.to_json(), indent=2) == text
    assert report.scenarios[0].verdict == "fail" and report.scenarios[0].server_logs


def _golden_entries(build_entry):
    from harness.checkers.verdict import verdict
    from tests.support import report_cases as rc

    out = []
    for name, hist, rates, extra in rc.CASES:
        sc = rc.scenario(name, rates_hz=rates)
        result = verdict(hist(), sc.bounds, sc.probes, "rst", host_stall_us=sc.host_stall_ms * 1000)
        result = result.with_(name=name, history=f"/runs/x/{name}/history.jsonl")
        out.append(build_entry(result, sc, extra))
    return out


# What the golden entries gain: the problems that made an error verdict (added with the model).
PROBLEMS = {"unproven": ["drop rst unproven: no server-side evidence within 5.0s"],
            "broken": ["c3: login failed"]}


def with_drop_schedule(old: dict) -> dict:
    """The golden drops gain when the schedule had them begin (added with the late-drop rule):
    every case's history schedules its drop at 3.0 s."""
    return {**old, "drop": {**old["drop"], "scheduled_s": 3.0}} if old.get("drop") else old


def expected_entry(old: dict) -> dict:
    old = with_drop_schedule(old)
    new = {**old, "problems": PROBLEMS[old["name"]]} if old["name"] in PROBLEMS else dict(old)
    if "dialect" in old:  # added with the dialect x transport matrix: the exact dialect, the transport
        new.update({"dialect_exact": "3.1.1", "transport": "nbt"})
    if "bounds" in old:  # bound keys added with the excursion rules (margins 0: off)
        added = {"excursion_margin_ms": 0.0, "max_excursions": 0,
                 "correlated_margin_ms": 0.0, "correlated_streams": 2}
        new["bounds"] = {"default": {**old["bounds"]["default"], **added},
                         "per_probe": {k: {**b, **added} for k, b in old["bounds"]["per_probe"].items()}}
    return new


def test_verdicts_from_histories_give_the_golden_probes_violations_and_drops():
    golden = {e["name"]: e for e in GOLDEN["report"]["scenarios"]}
    for result in _golden_entries(lambda r, sc, extra: r):
        old = with_drop_schedule(golden[result.name])
        for key in ("verdict", "reason", "drop", "probes", "violations", "host_stalls"):
            assert result[key] == old[key], (result.name, key)
        assert list(result.problems) == PROBLEMS.get(result.name, [])


def test_report_entries_from_histories_are_the_golden_ones():
    # the whole pure path the CLI takes: history -> verdict -> entry -> report.json
    from harness.report.table import errored_entry, report_doc, scenario_entry
    from tests.support import report_cases as rc

    entries = _golden_entries(lambda r, sc, extra: scenario_entry(r, sc, **extra))
    sk = rc.scenario("skipped")
    entries.append(scenario_entry(ScenarioResult.skipped("skipped", rc.SKIP_REASON), sk, target="docker"))
    doc = report_doc(entries, "local Samba 4.17.12 in namespaces", "Samba 4.17.12-Debian").to_json()
    old = GOLDEN["report"]
    expected = {**old, "scenarios": [expected_entry(e) for e in old["scenarios"]]}
    assert json.dumps(doc, indent=2) == json.dumps(expected, indent=2)
    unreachable = report_doc([errored_entry("rst", "target unreachable: no smbd")], "docker").to_json()
    assert unreachable["scenarios"][0]["problems"] == ["target unreachable: no smbd"]


def test_report_and_compare_commands_read_a_report_written_before_the_model(tmp_path, capsys):
    from harness.cli import main

    old = tmp_path / "old"
    old.mkdir()
    (old / "report.json").write_text((Path(__file__).parent / "data" / "report_replica_before.json").read_text())
    assert main(["report", str(old)]) == 0
    assert 'data-scenario="rst"' in (old / "report.html").read_text()
    assert main(["compare", str(old), str(old / "report.json"), "--html", str(tmp_path / "c.html")]) == 0
    assert "0 regressed" in capsys.readouterr().out
    # a scenario entry of the wrong shape is bad input (one line, exit 2), not a traceback
    doc = json.loads((old / "report.json").read_text())
    doc["scenarios"][0]["probes"] = ["not", "a", "table"]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert main(["report", str(tmp_path / "bad.json"), "-o", str(tmp_path / "b.html")]) == 2
    assert "not an nbt-harness report" in capsys.readouterr().err
