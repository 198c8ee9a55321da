"""``nbt-harness run --junitxml FILE``: the run's results as a JUnit XML file, one testcase per
scenario, with the same <property> elements as the pytest plugin's items (``nbt_verdict``,
``nbt_reason``, ``nbt_worst_*`` from harness.report.summary, ``nbt_report_html``).

A fail is a <failure>, an error (not judged: target unreachable, a run error) an <error>, a
skip a <skipped>; each carries the verdict's reason as its message and the scenario's table
as its text. Building the document is pure (``junit_xml``); ``write_junit`` only writes it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.files import atomic_write
from harness.report.summary import junit_properties
from harness.report.table import render_table
from harness.results import ScenarioResult

SUITE_NAME = "nbt-harness"
# Characters XML 1.0 cannot hold at all (a hostile server's bytes can reach a reason or a
# log): written as \xNN so the file still parses.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _testcase(entry: ScenarioResult, report_html: str | None) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=SUITE_NAME,
        name=xml_text(entry.name),
        time=f"{entry.duration_s or 0:.3f}",
    )
    props = list(junit_properties(entry))
    if report_html:
        props.append(("nbt_report_html", report_html))
    if props:
        el = ET.SubElement(case, "properties")
        for name, value in props:
            ET.SubElement(el, "property", name=name, value=xml_text(value))
    tag = {"fail": "failure", "error": "error", "skip": "skipped"}.get(entry.verdict)
    if tag is not None:
        outcome = ET.SubElement(case, tag, message=xml_text(entry.reason))
        if tag != "skipped":
            outcome.set("type", entry.verdict)
            outcome.text = xml_text(render_table(entry))
    return case


def junit_xml(
    entries: list[ScenarioResult],
    *,
    report_html: str | None = None,
    properties: Sequence[tuple[str, str]] = (),
    timestamp: str | None = None,
) -> bytes:
    """The JUnit XML document (UTF-8, with its declaration) of a run's scenario results.
    ``report_html``: the run's report.html (each testcase's ``nbt_report_html``);
    ``properties``: the suite's own (e.g. the target)."""
    verdicts = [e.verdict for e in entries]
    suite = ET.Element(
        "testsuite",
        name=SUITE_NAME,
        tests=str(len(entries)),
        failures=str(verdicts.count("fail")),
        errors=str(verdicts.count("error")),
        skipped=str(verdicts.count("skip")),
        time=f"{sum(e.duration_s or 0 for e in entries):.3f}",
    )
    if timestamp:
        suite.set("timestamp", timestamp)
    if properties:
        el = ET.SubElement(suite, "properties")
        for name, value in properties:
            ET.SubElement(el, "property", name=name, value=xml_text(value))
    suite.extend(_testcase(e, report_html) for e in entries)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, document: bytes) -> Path:
    """Write the document to ``path`` by harness.files.atomic_write (a reader never sees half
    a file; a link planted at or beside ``path`` is never written through)."""
    return atomic_write(Path(path), document)
