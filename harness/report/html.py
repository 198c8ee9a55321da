"""The HTML report: one self-contained page (inline CSS and SVG, no script, no network) from
report.json and the scenarios' histories; and the page shell and table cells that the compare
page (harness.report.compare_page) and the runs index share. Pure: documents in, a string out.
"""

from __future__ import annotations

from html import escape

from harness.checkers.compare import buckets_of
from harness.checkers.drops import drops_summary
from harness.checkers.ops import host_stalls, operations
from harness.checkers.verdict import HOST_STALL_US, drop_summary
from harness.findings import PhaseStats
from harness.report.crowd import crowd_html
from harness.report.plots import spectrum_svg
from harness.report.summary import limits_of, worst_probe
from harness.report.table import nothing_tested_line
from harness.report.timeline_plot import Point, Timeline, timeline_svg
from harness.results import Report, ScenarioResult
from harness.schedule import PHASES

SPECTRUM_PHASES = ("baseline", "fault", "recovery")

CSS = """
body{font-family:sans-serif;margin:1.2em;color:#222;max-width:1000px}
h1{font-size:1.4em}h2{font-size:1.2em;border-top:2px solid #ccc;padding-top:.6em;margin-top:1.6em}
h3{font-size:1em;margin-bottom:.3em}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.pass{background:#d4f4d4}.fail{background:#f8c8c8}.error{background:#f8e0a0}.skip{background:#e4e4e4}
.regressed{background:#f8c8c8}.improved{background:#d4f4d4}
.note{color:#555;font-size:.85em}.spectra{display:flex;flex-wrap:wrap;gap:6px}
code{font-size:.9em}
"""


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _p99(row: PhaseStats | dict) -> str:
    if isinstance(row, PhaseStats):
        return "max*" if row.p99_basis == "max" else _ms(row.p99_us)
    return "max*" if row.get("p99_basis") == "max" else _ms(row.get("p99_us"))


def timeline_of(entry: ScenarioResult, events: list[dict]) -> Timeline:
    """The timeline of one scenario from its history: healthy clients' operations per probe,
    the fault window (drop start to end), the evidence, server events and machine stalls."""
    series: dict[str, list[Point]] = {}
    for op in operations(events):
        if op.role != "healthy":
            continue
        kind = {"ok": "ok", "fail": "fail"}.get(op.outcome, "timeout")
        series.setdefault(op.probe, []).append(Point(op.intended_s, op.latency_us, kind))
    spans = [(name, float(a), float(b)) for name, (a, b) in (entry.phases or {}).items()]
    end_s = max([b for _, _, b in spans] + [p.t_s for pts in series.values() for p in pts] + [1.0])
    drop = drop_summary(events) or {}
    fault = None
    fault_phase = next(((a, b) for name, a, b in spans if name == "fault"), None)
    marks: list[tuple[float, str, str]] = []
    if drop.get("at_s") is not None:
        fault = (drop["at_s"], drop.get("end_s") or (fault_phase or (0, end_s))[1])
    each = drops_summary(events)  # a run of several drops: each one marked, and its proof
    if each:
        for d in each:
            if d.get("at_s") is not None:
                marks.append((d["at_s"], f"drop {d['index']} {d.get('mode')}", "drop"))
            if d.get("evidence_at_s") is not None:
                marks.append((d["evidence_at_s"], f"evidence {d['index']}", "evidence"))
    elif drop.get("evidence_at_s") is not None:
        marks.append((drop["evidence_at_s"], "evidence", "evidence"))
    for e in events:
        if e.get("type") == "server" and e.get("t_s") is not None:
            what = str(e.get("event", "event"))
            marks.append((e["t_s"], f"{e.get('source', 'server')} {what}", what))
    return Timeline(
        series=series,
        end_s=end_s,
        phases=spans,
        fault=fault,
        marks=marks,
        fault_phase=fault_phase,
        stalls=host_stalls(events, HOST_STALL_US),
    )


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{classes[i] if classes else ""}">'
        + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _worst_cell(w: dict | None) -> str:
    if not w:
        return "-"
    if w["stat"] == "errors":
        return escape(f"{w['probe']} {w['phase']} errors: {w['observed']} > limit {w['limit']}")
    stat = f"{w['stat']} ({w['basis']})" if w["basis"] else w["stat"]
    return escape(
        f"{w['probe']} {w['phase']} {stat}: {_ms(w['observed_us'])} ms of limit "
        f"{_ms(w['limit_us'])} ms ({w['ratio'] * 100:.0f}%)"
    )


def _probe_table(entry: ScenarioResult) -> str:
    rows = []
    for probe, phases in entry.probes.items():
        for phase in PHASES:
            row = phases.get(phase)
            if row:
                rows.append(
                    [
                        escape(probe),
                        escape(phase),
                        str(row.count),
                        str(row.errors),
                        _ms(row.p50_us),
                        _p99(row),
                        _ms(row.max_us),
                        str(row.host_stall_corrected),
                    ]
                )
    if not rows:
        return ""
    note = (
        '<p class="note">max*: fewer than 100 successful samples, so the row has no p99 '
        "(its p99_us is its maximum, and the p99 bound is applied to that maximum).</p>"
        if any(r[5] == "max*" for r in rows)
        else ""
    )
    return (
        _table(
            ["probe", "phase", "count", "errors", "p50 ms", "p99 ms", "max ms", "stall-corrected"],
            rows,
        )
        + note
    )


def _violations(entry: ScenarioResult) -> str:
    rows = []
    for v in entry.violations:
        detail = v.extra.get("detail")
        if detail:  # not a figure against a limit (e.g. a lost write)
            rows.append(
                [
                    escape(v.probe),
                    escape(v.phase),
                    escape(v.stat),
                    escape(str(detail)),
                    escape(str(v.limit if v.limit is not None else "")),
                ]
            )
        elif v.stat == "errors":
            rows.append([escape(v.probe), escape(v.phase), "errors", str(v.observed), str(v.limit)])
        else:
            stat = "p99 (max, n<100)" if v.basis == "max" else v.stat
            rows.append(
                [
                    escape(v.probe),
                    escape(v.phase),
                    escape(stat),
                    _ms(v.observed_us) + " ms",
                    _ms(v.limit_us) + " ms",
                ]
            )
    if not rows:
        return "<p>No violations.</p>"
    headers = ["probe", "phase", "statistic", "observed", "limit"]
    if any(v.extra.get("waited_on") for v in entry.violations):  # harness.checkers.waits
        headers.append("waited on")
        for row, v in zip(rows, entry.violations, strict=True):
            row.append(escape(str(v.extra.get("waited_on") or "")))
    return "<h3>Violations</h3>" + _table(headers, rows, ["fail"] * len(rows))


def _drops(drops: list[dict]) -> str:
    """A run of several drops (report.json ``drops``): one row per drop, its proof or why
    there is none."""
    rows, classes = [], []
    for d in drops:
        proven = bool(d.get("evidence"))
        proof = (
            "; ".join(f"{k}: {v}" for k, v in d["evidence"].items())
            if proven
            else f"unproven: {d.get('no_evidence') or 'no evidence'}"
        )
        rows.append(
            [
                escape(str(d.get("index"))),
                escape(str(d.get("mode"))),
                escape(str(d.get("victim") or "-")),
                _s(d.get("scheduled_s")),
                _s(d.get("at_s")),
                _s(d.get("evidence_at_s")),
                f'<span class="l">{escape(proof)}</span>',
            ]
        )
        classes.append("" if proven else "fail")
    return f"<h3>Drops: {len(drops)}</h3>" + _table(
        ["#", "mode", "victim", "planned s", "began s", "evidence s", "proof"], rows, classes
    )


def _s(t_s: float | None) -> str:
    return "-" if t_s is None else f"{t_s:.3f}"


def _drop(entry: ScenarioResult) -> str:
    drops = entry.extra.get("drops")
    if isinstance(drops, list) and drops:
        return _drops(drops)
    drop = entry.drop
    if not drop:
        return "<p>No drop (control scenario).</p>"
    at = "-" if drop.at_s is None else f"{drop.at_s:.3f} s"
    ev_at = "" if drop.evidence_at_s is None else f", evidence at {drop.evidence_at_s:.3f} s"
    lines = [f"<h3>Drop: {escape(str(drop.mode))} at {at}{ev_at}</h3>"]
    ev = drop.evidence
    if ev:
        lines.append(
            _table(
                ["evidence", "value"],
                [
                    [escape(str(k)), f'<span class="l">{escape(str(v))}</span>']
                    for k, v in ev.items()
                ],
            )
        )
    else:
        lines.append(f"<p>No evidence: {escape(str(drop.no_evidence or 'none recorded'))}</p>")
    return "".join(lines)


def _spectra(entry: ScenarioResult) -> str:
    out = []
    for probe, phases in entry.probes.items():
        series = {
            ph: buckets_of(phases[ph].hdr)
            for ph in SPECTRUM_PHASES
            if phases.get(ph) and phases[ph].hdr
        }
        if not series:
            continue
        limits = limits_of(entry, probe)
        lim = {"p99 limit": limits["p99_us"], "max limit": limits["max_us"]} if limits else None
        out.append(
            f'<div data-spectrum="{escape(probe)}">'
            + spectrum_svg(series, f"{probe}: baseline, fault, recovery", lim)
            + "</div>"
        )
    if not out:
        return ""
    return (
        '<h3>Distributions (percentile spectrum)</h3><div class="spectra">'
        + "".join(out)
        + "</div>"
    )


def _pcap(entry: ScenarioResult) -> str:
    """A link to the scenario's pcap (relative to the run directory, where report.html is),
    or why there is none."""
    pcap, note = entry.extra.get("pcap"), entry.extra.get("pcap_note")
    if isinstance(pcap, str) and pcap:
        frames = entry.extra.get("pcap_frames")
        return (
            f'<p class="pcap">packets: <a href="{escape(pcap)}">{escape(pcap)}</a>'
            + (f" ({int(frames)} packets)" if isinstance(frames, int) else "")
            + " (open in Wireshark; it holds the NTLM exchanges)</p>"
        )
    return f'<p class="note">{escape(note)}</p>' if isinstance(note, str) else ""


def _scenario_section(entry: ScenarioResult, events: list[dict] | None) -> str:
    name = entry.name
    parts = [
        (
            f'<section data-scenario="{escape(name)}"><h2 id="sc-{escape(name)}">{escape(name)}: '
            f'<span class="{escape(entry.verdict)}">{escape(entry.verdict.upper())}</span></h2>'
        ),
        f"<p>{escape(entry.reason)}</p>",
    ]
    parts.append(_pcap(entry))
    if entry.description:
        parts.append(f'<p class="note">{escape(entry.description)}</p>')
    if entry.dialect:
        transport = entry.extra.get("transport")
        asked = str(entry.dialect) + (f" over {transport}" if transport else "")
        got = entry.extra.get("negotiated")
        got_text = (
            f"; negotiated: {got.get('dialect')} over {got.get('transport')} "
            f"(port {got.get('port')})"
            if isinstance(got, dict)
            else ""
        )
        parts.append(f'<p class="note">dialect asked: {escape(asked)}{escape(got_text)}</p>')
    if events:
        parts.append(
            '<div class="timeline-box" data-timeline="'
            + escape(name)
            + '">'
            + timeline_svg(timeline_of(entry, events), f"{name}: latency of every operation")
            + "</div>"
        )
        parts.append(
            '<p class="note">Each dot is one healthy client\'s operation at its intended '
            "send time, latency as measured (before the machine-stall correction). Shaded red: "
            "the drop, from its start to its end (an instant for rst, fin, kill); pale: "
            "the fault phase. Grey bands at the bottom: machine stalls "
            "(canary late by more than 20 ms).</p>"
        )
    elif entry.verdict != "skip":
        parts.append('<p class="note">No history found for this scenario: no timeline.</p>')
    parts.append(_drop(entry))
    parts.append(_violations(entry))
    parts.append(_probe_table(entry))
    parts.append(crowd_html(entry.extra.get("crowd")))
    parts.append(_spectra(entry))
    stalls = entry.host_stalls
    if stalls:
        parts.append(
            f'<p class="note">machine stalls: {stalls.count}, worst {_ms(stalls.worst_us)} ms</p>'
        )
    parts.append("</section>")
    return "".join(parts)


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def render_report(doc: Report, histories: dict[str, list[dict]], harness_version: str) -> str:
    """The run's page: summary (with each scenario's worst figure against its limit, as
    summary.worst_probe finds it), then per scenario its timeline, drop, violations, table and
    spectra. ``histories`` maps scenario names to their history events (may lack some)."""
    summary = doc.summary
    rows, classes = [], []
    for e in doc.scenarios:
        rows.append(
            [
                f'<a href="#sc-{escape(e.name)}">{escape(e.name)}</a>',
                escape(e.verdict),
                f'<span class="l">{escape(e.reason)}</span>',
                _worst_cell(worst_probe(e)),
            ]
        )
        classes.append(escape(e.verdict))
    head = (
        f"<h1>nbt-harness report</h1>"
        f"<p>target: <code>{escape(str(doc.target))}</code><br>"
        f"harness: nbt-harness {escape(harness_version)}, report version "
        f"{escape(str(doc.version))}<br>"
        + ", ".join(f"{summary.get(v, 0)} {v}" for v in ("pass", "fail", "error", "skip"))
        + "</p>"
    )
    untested = nothing_tested_line(list(doc.scenarios))
    if untested:  # every scenario skipped: not a pass
        head += f'<p class="skip"><strong>{escape(untested)}</strong></p>'

    table = _table(
        ["scenario", "verdict", "reason", "worst probe against its limit"], rows, classes
    )
    sections = "".join(_scenario_section(e, histories.get(e.name)) for e in doc.scenarios)
    return page("nbt-harness report", head + table + sections)
