"""The comparison's HTML page (``compare --html``): what moved, the verdicts and the holdings'
times to access, the table of every row, then per row the two distributions overlaid as
percentile spectra (the statistics are harness.checkers.compare's). Pure: documents in, a
string out; the page shell and cells are harness.report.html's.
"""

from __future__ import annotations

from html import escape

from harness.checkers.compare import buckets_of
from harness.findings import PhaseStats
from harness.report.html import SPECTRUM_PHASES, _ms, _p99, _table, page
from harness.report.plots import spectrum_svg
from harness.results import Report


def _compare_lead(result: dict) -> str:
    """What moved (regressed, improved, then significant shifts under the thresholds), the
    verdicts and the holdings' times to access side by side, ahead of the full table."""
    out = []
    moved = result.get("moved") or []
    if moved:
        rows = [
            [
                escape(m["scenario"]),
                escape(m["probe"]),
                escape(m["phase"]),
                f"{(m['ratio'] if m['direction'] == 'slower' else 1 / m['ratio']):.2f}x "
                + m["direction"],
                f"p{m['quantile'] * 100:.0f}",
                f"{m['p_value']:.1e}",
                (
                    "significant, under the thresholds"
                    if m["significant_only"]
                    else escape(m["verdict"])
                ),
            ]
            for m in moved
        ]
        out.append(
            '<h2 id="moved">What moved</h2>'
            + _table(
                ["scenario", "probe", "phase", "shift", "at", "p", "verdict"],
                rows,
                [m["verdict"] for m in moved],
            )
        )
    verdicts = result.get("verdicts") or []
    if verdicts:
        out.append(
            '<h2 id="verdicts">Verdicts</h2>'
            + _table(
                ["scenario", "base", "new"],
                [
                    [escape(v["scenario"]), escape(v["base"] or "-"), escape(v["new"] or "-")]
                    for v in verdicts
                ],
                [
                    ("fail" if v["new"] in ("fail", "error") else "")
                    if v["base"] != v["new"]
                    else ""
                    for v in verdicts
                ],
            )
        )
    access = result.get("access") or []
    if access:

        def when(never: bool, s) -> str:
            return "never" if never else "-" if s is None else f"{s:.3f}"

        out.append(
            '<h2 id="access">Time to access (s after the drop)</h2>'
            + _table(
                ["scenario", "holds", "base", "new", "max_wait_s"],
                [
                    [
                        escape(a["scenario"]),
                        escape(str(a["holds"])),
                        when(a["base_never"], a["base_s"]),
                        when(a["new_never"], a["new_s"]),
                        "-" if a.get("max_wait_s") is None else f"{a['max_wait_s']:g}",
                    ]
                    for a in access
                ],
            )
        )
    return "".join(out) + ('<h2 id="rows">Every row</h2>' if out else "")


def _compared_row(doc: Report, row: dict) -> PhaseStats:
    """The report's probe row that a compare row was computed from (compare pairs only rows
    that both reports hold)."""
    entry = doc.scenario(row["scenario"])
    stats = entry.row(row["probe"], row["phase"]) if entry else None
    if stats is None:
        raise ValueError(f"{row['scenario']} {row['probe']} {row['phase']}: not in the report")
    return stats


def render_compare_page(
    result: dict,
    base_label: str,
    new_label: str,
    base_doc: Report,
    new_doc: Report,
    harness_version: str,
) -> str:
    """The comparison's page: the table of verdicts, then per row the two distributions
    overlaid as percentile spectra."""
    th = result["thresholds"]
    head = (
        f"<h1>nbt-harness compare</h1><p>base: <code>{escape(base_label)}</code> "
        f"(target <code>{escape(str(base_doc.target))}</code>)<br>"
        f"new: <code>{escape(new_label)}</code> "
        f"(target <code>{escape(str(new_doc.target))}</code>)<br>"
        f"nbt-harness {escape(harness_version)}. A row is regressed when a one-sided "
        f"Kolmogorov-Smirnov test over the two histograms gives p &lt; {th['alpha']:g}, its "
        f"distance taken only over latencies where, at the quantile midway between the two "
        f"CDFs, the new latency is at least {th['min_ratio']:g}x and "
        f"{th['min_delta_us'] / 1000:g} ms above the old one (improved: the same the other "
        f"way). Failed operations count as the slowest. Warm-up rows are not compared.</p>"
        "<p>" + ", ".join(f"{v} {k}" for k, v in result["summary"].items()) + "</p>"
    )
    rows, classes = [], []
    for r in result["rows"]:
        b, n = r["base"], r["new"]
        rows.append(
            [
                escape(r["scenario"]),
                escape(r["probe"]),
                escape(r["phase"]),
                f"{b['count']} / {n['count']}",
                f"{b['errors']} / {n['errors']}",
                f"{_ms(b['p50_us'])} / {_ms(n['p50_us'])}",
                f"{_p99(b)} / {_p99(n)}",
                f"{_ms(b['max_us'])} / {_ms(n['max_us'])}",
                "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                "-" if r["quantile"] is None else f"p{r['quantile'] * 100:.0f}",
                "-" if r["p_value"] is None else f"{r['p_value']:.1e}",
                escape(r["verdict"]),
            ]
        )
        classes.append(r["verdict"])
    table = _compare_lead(result) + _table(
        [
            "scenario",
            "probe",
            "phase",
            "count",
            "errors",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ratio",
            "at",
            "p",
            "verdict",
        ],
        rows,
        classes,
    )
    note = (
        '<p class="note">Cells are base / new. max*: fewer than 100 samples, so no p99. ratio: '
        "new/base latency at the quantile (at) where the test found its distance (for an "
        "unchanged row: where the two distributions part most).</p>"
    )
    plots = []
    for r in result["rows"]:
        if r["phase"] not in SPECTRUM_PHASES:
            continue
        b = _compared_row(base_doc, r)
        n = _compared_row(new_doc, r)
        series = {"base": buckets_of(b.hdr), "new": buckets_of(n.hdr)}
        title = f"{r['scenario']} {r['probe']} {r['phase']}: {r['verdict']}"
        plots.append(
            f'<div data-spectrum="{escape(r["scenario"])}/{escape(r["probe"])}/'
            f'{escape(r["phase"])}" class="{escape(r["verdict"])}">'
            + spectrum_svg(series, title, colors={"base": "#1f77b4", "new": "#d62728"})
            + "</div>"
        )
    body = (
        head
        + table
        + note
        + '<h2>Distributions</h2><div class="spectra">'
        + "".join(plots)
        + "</div>"
    )
    return page("nbt-harness compare", body)
