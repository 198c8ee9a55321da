"""run --junitxml: the JUnit document built from report.json entries (the golden report's
pass, fail, error and skip entries), parsed back with xml.etree."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.junit import junit_xml, write_junit, xml_text
from harness.report.summary import junit_properties
from harness.results import Report, ScenarioResult

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "golden_report.json").read_text())
ENTRIES = list(Report.from_json(GOLDEN["report"]).scenarios)
HTML = "/runs/r1/report.html"


def _suite(entries, **kw):
    root = ET.fromstring(junit_xml(entries, report_html=HTML, **kw))
    assert root.tag == "testsuites"
    (suite,) = root
    return suite


def test_one_testcase_per_scenario_with_the_plugins_properties():
    suite = _suite(ENTRIES, properties=[("nbt_target", "local"), ("nbt_server", "Samba 4.17")],
                   timestamp="2026-12-07T16:00:00+00:00")
    assert [e.verdict for e in ENTRIES] == ["pass", "fail", "error", "error", "skip"]
    assert suite.attrib == {"name": "nbt-harness", "tests": "5", "failures": "1", "errors": "2",
                            "skipped": "1", "time": "27.750",
                            "timestamp": "2026-12-07T16:00:00+00:00"}
    assert {p.get("name"): p.get("value") for p in suite.find("properties")} == {
        "nbt_target": "local", "nbt_server": "Samba 4.17"}
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [e.name for e in ENTRIES]
    assert cases[0].get("time") == "12.500" and cases[2].get("time") == "0.000"
    for case, entry in zip(cases, ENTRIES):
        props = [(p.get("name"), p.get("value")) for p in case.find("properties")]
        # the same pairs, in the same order, as the pytest plugin's user_properties
        assert props == junit_properties(entry) + [("nbt_report_html", HTML)]


def test_fail_error_and_skip_carry_the_verdicts_reason():
    healthy, failing, unproven, broken, skipped = _suite(ENTRIES).findall("testcase")
    assert list(healthy.iter("failure")) == [] and list(healthy.iter("error")) == []
    assert healthy.find("skipped") is None
    failure = failing.find("failure")
    assert failure.get("message") == ENTRIES[1].reason and failure.get("type") == "fail"
    assert "== failing: FAIL" in failure.text  # the scenario's table, as the run prints it
    assert failing.find("error") is None
    for case, entry in ((unproven, ENTRIES[2]), (broken, ENTRIES[3])):
        error = case.find("error")
        assert error.get("message") == entry.reason and error.get("type") == "error"
        assert case.find("failure") is None
    skip = skipped.find("skipped")
    assert skip.get("message") == "docker: the drop partition acts on the whole host"
    assert skip.text is None


def test_bytes_xml_cannot_hold_are_escaped_and_the_file_still_parses(tmp_path):
    # a hostile server's bytes can reach a reason or its logs
    entry = ScenarioResult.errored("evil\x00name", "login failed: \x1b[31m\x07\ud800 é ✓")
    assert xml_text("a\x00b\tc\n") == "a\\x00b\tc\n"
    path = write_junit(tmp_path / "junit.xml", junit_xml([entry]))
    case = ET.parse(path).getroot().find("testsuite/testcase")
    assert case.get("name") == "evil\\x00name"
    assert case.find("error").get("message") == "login failed: \\x1b[31m\\x07\\xd800 é ✓"
    assert [p.name for p in tmp_path.iterdir()] == ["junit.xml"]  # no temporary file left


def test_no_entries_is_an_empty_suite():
    suite = _suite([])
    assert suite.get("tests") == "0" and suite.findall("testcase") == []
