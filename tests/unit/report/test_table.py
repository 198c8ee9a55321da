import pytest

from harness.errors import BadInput
from harness.report.table import exit_code, nothing_tested_line, render_table, report_doc, scenario_entry
from harness.results import ScenarioResult
from harness.server import Endpoint
from harness.targets.spec import parse_target


def test_target_specs():
    assert parse_target("local").kind == "local"
    assert parse_target("replica").trigger == "any"
    assert parse_target("replica:timeout").trigger == "timeout"
    assert parse_target("docker").kind == "docker"
    for bad in ("replica:sometimes", "local:x", "nfs"):
        with pytest.raises(BadInput):
            parse_target(bad)


def test_endpoint_never_shows_password():
    ep = Endpoint("10.0.0.1", "SRV", "share", "bob", password="s3cret-pw")
    assert "s3cret-pw" not in repr(ep) and "s3cret-pw" not in ep.describe()


RESULT_JSON = {
    "name": "rst", "verdict": "fail", "reason": "1 bound(s) violated",
    "drop": {"mode": "rst", "at_s": 4.0, "evidence": {"server_socket_after": "gone"}},
    "probes": {"nbstat": {"baseline": {"count": 200, "errors": 0, "p50_us": 110, "p99_us": 160, "max_us": 170},
                          "fault": {"count": 200, "errors": 2, "p50_us": 900_000, "p99_us": 1_000_000, "max_us": 1_000_000}}},
    "violations": [{"probe": "nbstat", "phase": "fault", "stat": "p99", "observed_us": 1_000_000, "limit_us": 100_000},
                   {"probe": "nbstat", "phase": "fault", "stat": "errors", "observed_us": None, "limit_us": None,
                    "observed": 2, "limit": 0}],
}
RESULT = ScenarioResult.from_json(RESULT_JSON)


def test_report_entry_has_the_contract_fields():
    e = scenario_entry(RESULT).to_json()
    assert {"name", "verdict", "reason", "drop", "probes", "violations"} <= set(e)
    assert set(e["drop"]) >= {"mode", "at_s", "evidence"}


def test_table_shows_rows_and_violations():
    text = render_table(scenario_entry(RESULT))
    assert "rst: FAIL" in text
    assert "nbstat       fault        200      2   900.00  1000.00  1000.00" in text
    assert "VIOLATION nbstat fault p99: 1000.00 ms > limit 100.00 ms" in text
    assert "VIOLATION nbstat fault errors: 2 > 0" in text


def test_table_never_calls_a_max_of_few_samples_a_p99():
    few = {"count": 30, "errors": 0, "p50_us": 110, "p99_us": 170, "max_us": 170, "p99_basis": "max"}
    many = {"count": 300, "errors": 0, "p50_us": 110, "p99_us": 160, "max_us": 170, "p99_basis": "p99"}
    entry = scenario_entry(ScenarioResult.from_json(
        {**RESULT_JSON, "probes": {"nbstat": {"baseline": many, "fault": few}},
         "violations": [{"probe": "nbstat", "phase": "fault", "stat": "p99",
                         "observed_us": 170_000, "limit_us": 100_000, "basis": "max"}]}))
    text = render_table(entry)
    assert "nbstat       baseline     300      0     0.11     0.16     0.17" in text
    assert "nbstat       fault         30      0     0.11     max*     0.17" in text
    assert "max*: fewer than 100 samples" in text
    assert "VIOLATION nbstat fault p99 (max, n<100): 170.00 ms > limit 100.00 ms" in text


@pytest.mark.parametrize("verdicts, code", [
    (["pass", "skip"], 0), (["pass", "fail", "error"], 1), (["pass", "error"], 3), ([], 0)])
def test_exit_codes(verdicts, code):
    assert exit_code([ScenarioResult("x", v) for v in verdicts]) == code


def test_report_doc_summary():
    doc = report_doc([ScenarioResult("a", "pass"), ScenarioResult("b", "skip")], "local").to_json()
    assert doc["summary"] == {"pass": 1, "fail": 0, "error": 0, "skip": 1}


def test_every_scenario_skipped_is_nothing_tested_with_the_reasons_once():
    why = "target remote does not offer SMB 3.1.1 over nbt: negotiated 2.0.2"
    skips = [ScenarioResult(n, "skip", why) for n in ("baseline", "rst")]
    doc = report_doc([*skips, ScenarioResult("fin", "skip", "other")], "remote").to_json()
    assert exit_code(skips) == 0  # pytest's convention: skips are not failures
    assert doc["summary"] == {"pass": 0, "fail": 0, "error": 0, "skip": 3,
                              "nothing_tested": [why, "other"]}
    assert nothing_tested_line(skips) == f"nothing was tested: all 2 scenarios were skipped: {why}"
    assert nothing_tested_line(skips[:1]).startswith("nothing was tested: the 1 scenario was skipped: ")
    # anything judged (even an error) is not "nothing tested"; neither is an empty run
    for other in ("pass", "fail", "error"):
        assert nothing_tested_line([*skips, ScenarioResult("x", other)]) is None
        assert "nothing_tested" not in report_doc([*skips, ScenarioResult("x", other)], "r").summary
    assert nothing_tested_line([]) is None


def test_table_header_says_what_was_negotiated():
    got = {"dialect": "2.0.2", "transport": "nbt", "port": 139, "clients": 7,
           "offered": ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"]}
    entry = ScenarioResult("rst", "pass", dialect="any", extra={"negotiated": got})
    lines = render_table(entry).splitlines()
    assert lines[1] == "   negotiated SMB 2.0.2 over nbt (port 139) by 7 clients; asked: any"
    mixed = entry.with_(extra={"negotiated": {**got, "mixed": ["2.1", "3.1.1"]}})
    assert "(they disagree: 2.1, 3.1.1)" in render_table(mixed)
    assert "negotiated" not in render_table(ScenarioResult("rst", "skip", "why", extra={"negotiated": None}))


def test_target_strings_and_construction_come_from_the_registry():
    from harness.targets import TARGETS
    from harness.targets.spec import make_target

    for name, kind in TARGETS.items():
        spec = parse_target(name)
        assert spec.kind == name and spec.variant == kind.default_variant
        for variant in kind.variants:
            assert parse_target(f"{name}:{variant}").variant == variant
        assert kind.load().__name__  # the implementation imports
    assert parse_target("replica").label() == "replica:any"  # the trigger is always named
    assert parse_target("docker:bookworm").label() == "docker"
    target = make_target(parse_target("replica:reset"), hold_s=0.5)
    assert (target.trigger, target.hold_s) == ("reset", 0.5)
    with pytest.raises(BadInput, match="local config must be one of default, tcp-retries-default"):
        parse_target("local:x")
    assert parse_target("local").label() == "local"
    waiting = make_target(parse_target("local:tcp-retries-default"))
    assert waiting.server_tcp_retries2 == 15 and make_target(parse_target("local")).server_tcp_retries2 == 3


def test_entry_keys_given_as_a_dict_are_typed_or_kept():
    e = scenario_entry(RESULT, None, {"duration_s": 1.5, "transport": "nbt"}, target="local")
    assert (e.duration_s, e.target, e.extra) == (1.5, "local", {"transport": "nbt"})
    assert e.to_json()["transport"] == "nbt"


def test_a_violation_says_what_it_waited_on_under_its_line_and_in_report_json():
    said = "smb_contend waited 10.0 s (timed out): the server sent the victim no break"
    v = {"probe": "smb_contend", "phase": "fault", "stat": "time_to_access", "observed_us": None,
         "limit_us": 8_000_000, "note": "never got access within the run", "waited_on": said}
    entry = scenario_entry(ScenarioResult.from_json({**RESULT_JSON, "violations": [v]}))
    lines = render_table(entry).splitlines()
    at = lines.index("   VIOLATION smb_contend time to access: never got access within the run (limit 8 s)")
    assert lines[at + 1] == f"     waited on: {said}"
    assert entry.to_json()["violations"][0]["waited_on"] == said
    assert "waited on" not in render_table(RESULT)
