"""The command line's own documentation and machine output: --version (one source for the
version), --target's help, the exit codes and environment variables in --help's epilog (held
to the README's table and to what harness/ reads), compare --json."""

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path

import pytest

import harness
from harness import cli
from harness.cli import parser
from harness.checkers import histograms
from harness.checkers.compare import compare_reports
from harness.report.files import load_report
from harness.stats import summarize_us
from harness.targets import TARGETS
from harness.targets.remote_spec import URL_OPTIONS

REPO = Path(__file__).resolve().parents[2]


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_version_has_one_source(capsys):
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "harness.__version__"}
    assert importlib.metadata.version("nbt-harness") == harness.__version__
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"nbt-harness {harness.__version__}\n"


def _exit_code_table() -> dict[str, str]:
    """The exit codes table of the user docs (README.md, or a docs page it moved to)."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        _, header, rest = path.read_text().partition("| exit code | meaning |\n")
        if header:
            table = rest.split("\n\n")[0]  # up to the first blank line
            rows = re.findall(r"^\| ([0-9, ]+) \| (.+) \|$", table, re.MULTILINE)
            return {code: _words(text) for code, text in rows}
    raise AssertionError("no exit code table in README.md or docs/")


def test_the_epilog_gives_the_docs_exit_codes_word_for_word():
    table = _exit_code_table()
    assert set(table) >= {"0", "1", "2", "3", "4", "129, 130, 143"}
    ours = {code: _words(text) for code, text in parser.EXIT_CODES}
    assert ours == table
    epilog = _words(parser.help_epilog())
    for code, text in table.items():
        assert f"{code} {text}" in epilog


def test_the_epilog_names_every_environment_variable_the_harness_reads():
    read = set()
    for path in (REPO / "harness").rglob("*.py"):
        read |= set(re.findall(r"NBT_HARNESS_[A-Z][A-Z0-9_]*", path.read_text()))
    assert {"NBT_HARNESS_TARGET", "NBT_HARNESS_PASSWORD", "NBT_HARNESS_DEBUG"} <= read
    documented = set(re.findall(r"NBT_HARNESS_[A-Z][A-Z0-9_]*", " ".join(
        key for key, _ in parser.ENVIRONMENT)))
    assert read <= documented, read - documented


def test_top_level_help_shows_epilog_unwrapped(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "exit codes:\n  0 " in out and "\nenvironment:\n  NBT_HARNESS_TARGET" in out
    assert "--version" in out


def test_target_help_shows_every_form(capsys):
    text = parser.target_help()
    assert "smb://[DOMAIN;]USER@HOST[:PORT]/SHARE" in text
    assert all(f"{o}=" in text for o in URL_OPTIONS)
    assert all(k.spelling in text for k in TARGETS.values())
    assert "NBT_HARNESS_PASSWORD" in text and "targets file" in text
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--help"])
    out = capsys.readouterr().out
    # wrapped between words only: the URL form stays whole on one line
    assert re.search(r"^\s+smb://\[DOMAIN;\]USER@HOST\[:PORT\]/SHARE\[\?\S+\]$", out, re.MULTILINE)


def _report(tmp_path, name, fault_us):
    rows = {"baseline": [1000] * 60, "fault": fault_us}
    doc = {"version": 1, "target": "t", "scenarios": [{"name": "rst", "verdict": "pass", "probes": {
        "smb_echo": {phase: {**summarize_us(v, 0), "hdr": histograms.encode(
            histograms.of_latencies_us(v))} for phase, v in rows.items()}}}]}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def test_compare_json_is_the_compare_result(tmp_path, capsys):
    base = _report(tmp_path, "base", [1000] * 60)
    new = _report(tmp_path, "new", [1000] * 30 + [400_000] * 30)
    assert cli.main(["compare", str(base), str(new), "--json"]) == 1  # regressed: exit 1
    doc = json.loads(capsys.readouterr().out)
    expected = compare_reports(load_report(base)[0], load_report(new)[0])
    assert doc == {"base": str(base), "new": str(new), **json.loads(json.dumps(expected))}
    assert doc["summary"] == {"regressed": 1, "improved": 0, "unchanged": 1}
    assert [r["verdict"] for r in doc["rows"]] == ["unchanged", "regressed"]
    # with --html, stdout stays one JSON document (the html line goes to stderr)
    assert cli.main(["compare", str(base), str(base), "--json", "--html",
                     str(tmp_path / "c.html")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"]["regressed"] == 0 and "html: " in err
