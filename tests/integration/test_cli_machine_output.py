"""The command line's output for machines and newcomers, end to end: `list` (every folder,
--json) whose every name `run` accepts, --version, `run --junitxml` from a real run against
the embedded Samba, `compare --json` of that run."""

import json
import xml.etree.ElementTree as ET

import pytest

import harness
from harness.report.summary import junit_properties
from harness.results import Report
from tests.conftest import FAST
from tests.support.cli import harness_cli as cli

pytestmark = pytest.mark.integration
SETS = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
# bounds no server can meet: every scenario fails (exit 1)
IMPOSSIBLE = ["--set", "bounds.p99_floor_ms=0.001", "--set", "bounds.p99_factor=0.01",
              "--set", "bounds.max_floor_ms=0.001", "--set", "bounds.max_factor=0.01"]


def test_list_names_every_folder_and_run_accepts_every_name():
    text = cli("list", timeout=30)
    assert text.returncode == 0, text.stderr
    done = cli("list", "--json", timeout=30)
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    names = [e["name"] for e in entries]
    assert len(names) >= 31 and "holdings/batch_oplock-pause" in names
    assert {e["folder"] for e in entries} == {None, "holdings", "connected", "repeated"}
    firsts = [line.split()[0] for line in text.stdout.splitlines()]
    assert set(firsts) == set(names) | {"holdings", "connected", "repeated"}
    # `run` resolves every scenario name before it parses the target: with a target that
    # does not parse, a name it did not accept would be reported first
    done = cli("run", *firsts, "--target", "moon", timeout=60)
    assert done.returncode == 2 and "invalid target 'moon'" in done.stderr, done.stderr
    done = cli("run", *firsts, "holdings/nosuch", "--target", "moon", timeout=60)
    assert done.returncode == 2 and "unknown scenario 'holdings/nosuch'" in done.stderr


def test_version():
    done = cli("--version", timeout=30)
    assert done.returncode == 0 and done.stdout == f"nbt-harness {harness.__version__}\n"


def test_run_junitxml_and_compare_json(tmp_path):
    junit = tmp_path / "out" / "junit.xml"
    done = cli("run", "baseline", "rst", "--quiet", "--report-dir", tmp_path / "run",
               "--junitxml", junit, *SETS, *IMPOSSIBLE)
    assert done.returncode == 2 and "--junitxml" in done.stderr  # no directory out/: refused
    assert not (tmp_path / "run").exists()  # before anything started
    junit.parent.mkdir()
    done = cli("run", "baseline", "rst", "--quiet", "--report-dir", tmp_path / "run",
               "--junitxml", junit, *SETS, *IMPOSSIBLE)
    assert done.returncode == 1, done.stdout + done.stderr
    report = Report.from_json(json.loads((tmp_path / "run" / "report.json").read_text()))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "2"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["nbt_target"].startswith("local") and props["nbt_server"].startswith("Samba")
    html = str(tmp_path / "run" / "report.html")
    for case, entry in zip(suite.findall("testcase"), report.scenarios, strict=True):
        assert case.get("name") == entry.name and entry.verdict == "fail"
        assert case.find("failure").get("message") == entry.reason
        assert [(p.get("name"), p.get("value")) for p in case.find("properties")] == \
            junit_properties(entry) + [("nbt_report_html", html)]
        props = {p.get("name"): p.get("value") for p in case.find("properties")}
        # literal names too, so the check does not rest on the function under test alone
        assert props["nbt_verdict"] == "fail" and props["nbt_reason"] == entry.reason
        assert "nbt_worst_probe" in props and props["nbt_report_html"] == html
    assert [p.name for p in junit.parent.iterdir()] == ["junit.xml"]

    report_json = tmp_path / "run" / "report.json"
    done = cli("compare", report_json, report_json, "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["base"] == doc["new"] == str(report_json)
    assert doc["rows"] and doc["summary"]["regressed"] == 0
    assert {r["scenario"] for r in doc["rows"]} == {"baseline", "rst"}
