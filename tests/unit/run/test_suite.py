"""The one path from a scenario to its report entry and report.json, with a target that
declines every scenario (no server: the run returns right after its preflight)."""

import json

from harness.results import ScenarioResult
from harness.run import suite
from harness.scenario.model import Scenario
from tests.support.declining_target import DecliningTarget


class _Declining(DecliningTarget):
    name = "decliner"

    def logs(self):
        raise AssertionError("a skipped scenario's entry carries no server log")


def test_an_entry_carries_the_scenario_the_target_and_the_duration(tmp_path):
    entry = suite.run_entry(Scenario(name="baseline"), _Declining(), tmp_path / "baseline",
                            tmp_path, target_name="local")
    assert (entry.verdict, entry.reason) == ("skip", "declined by the test")
    assert entry.target == "local" and entry.duration_s is not None and entry.server_logs is None
    assert entry.phases and "pcap" not in entry.to_json() and "pcap_note" not in entry.to_json()


def test_report_json_is_replaced_whole(tmp_path):
    entries = [ScenarioResult.skipped("a", "why")]
    path = suite.write_report(tmp_path, entries, "local x", "Samba 4")
    entries.append(ScenarioResult.errored("b", "gone"))
    assert suite.write_report(tmp_path, entries, "local x", "Samba 4") == path
    doc = json.loads(path.read_text())
    assert [s["name"] for s in doc["scenarios"]] == ["a", "b"] and doc["server"] == "Samba 4"
    assert doc["summary"]["skip"] == 1 and doc["summary"]["error"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file left
