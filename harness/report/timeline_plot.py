"""The latency timeline of one scenario as SVG (log y: every healthy client's operation over
time, one series per probe, with the fault window, marks and machine stalls). Pure; the axes,
palette and ``<svg>`` opening are harness.report.plots'.

Points are drawn as zero-length path segments with round caps: about 14 bytes per operation,
so a run's thousands of operations stay a few hundred kilobytes. Each series is a
``g.series`` with ``data-series`` and its ok/failed/timeout counts in data attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from harness.report.plots import PROBE_COLORS, _decades, _svg_open, _y_axis, color_for, log_axis

FAIL_COLOR = "#d62728"


@dataclass
class Point:
    t_s: float
    latency_us: float | None  # None: no latency (timeout or stall): drawn at the top edge
    kind: str  # ok | fail | timeout


@dataclass
class Timeline:
    """What the timeline shows; times in seconds since the run's t0."""

    series: dict[str, list[Point]]
    end_s: float
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    fault: tuple[float, float] | None = None  # drop start .. drop end
    fault_phase: tuple[float, float] | None = None  # the fault phase (lighter shade)
    marks: list[tuple[float, str, str]] = field(default_factory=list)  # (t_s, label, kind)
    stalls: list[tuple[float, float]] = field(default_factory=list)  # machine stalls


W, H = 960, 320
ML, MR, MT, MB = 62, 16, 40, 40


def timeline_svg(tl: Timeline, title: str = "") -> str:
    """Latency of every operation over time (log y), one series per probe; failures as red
    crosses, timeouts and stalls as triangles on the top edge; the fault window shaded, marks
    for evidence and server events, machine stalls as grey bands on the bottom edge."""
    lat = [p.latency_us for pts in tl.series.values() for p in pts if p.latency_us]
    lo, hi = _decades(min(lat, default=100.0), max(lat, default=1000.0))
    end_s = max(tl.end_s, 1e-3)
    pw, ph = W - ML - MR, H - MT - MB

    def x(t: float) -> float:
        return ML + pw * min(max(t, 0.0), end_s) / end_s

    y = log_axis(lo, hi, MT, ph)

    parts = _svg_open("timeline", W, H, title, ML, font_px=11, title_y=14)
    if tl.fault_phase:
        a, b = tl.fault_phase
        parts.append(
            f'<rect data-mark="fault-phase" x="{x(a):.1f}" y="{MT}" '
            f'width="{max(x(b) - x(a), 1):.1f}" height="{ph}" fill="#fdf0f0">'
            f"<title>fault phase {a:.3f}s to {b:.3f}s</title></rect>"
        )
    if tl.fault:
        a, b = tl.fault
        parts.append(
            f'<rect data-mark="fault-window" x="{x(a):.1f}" y="{MT}" '
            f'width="{max(x(b) - x(a), 3):.1f}" height="{ph}" fill="#f4a0a0" opacity="0.6">'
            f"<title>drop from {a:.3f}s to {b:.3f}s</title></rect>"
        )
    parts += _y_axis(lo, hi, y, ML, W - MR)
    for name, a, b in tl.phases:
        parts.append(
            f'<line x1="{x(a):.1f}" x2="{x(a):.1f}" y1="{MT}" y2="{MT + ph}" stroke="#999" '
            f'stroke-dasharray="3,3"/><text x="{(x(a) + x(b)) / 2:.1f}" y="{MT + ph + 26}" '
            f'text-anchor="middle" fill="#555">{escape(name)}</text>'
        )
    step = 10 ** math.floor(math.log10(end_s)) if end_s >= 1 else 0.1
    if end_s / step < 4:
        step /= 2
    t = 0.0
    while t <= end_s + 1e-9:
        parts.append(f'<text x="{x(t):.1f}" y="{MT + ph + 13}" text-anchor="middle">{t:g}s</text>')
        t += step
    for a, b in tl.stalls:
        parts.append(
            f'<rect data-mark="machine-stall" x="{x(a):.1f}" y="{MT + ph - 6}" '
            f'width="{max(x(b) - x(a), 2):.1f}" height="6" fill="#555">'
            f"<title>machine stall {(b - a) * 1000:.0f} ms at {a:.3f}s</title></rect>"
        )
    for t_s, label, kind in tl.marks:
        colour = {
            "evidence": "#000",
            "trigger": "#9400d3",
            "recover": "#2e8b57",
            "drop": "#c00",
        }.get(kind, "#444")
        parts.append(
            f'<g data-mark="{escape(kind)}"><line x1="{x(t_s):.1f}" x2="{x(t_s):.1f}" '
            f'y1="{MT}" y2="{MT + ph}" stroke="{colour}" stroke-width="1.5" '
            f'stroke-dasharray="6,2"/><text x="{x(t_s) + 3:.1f}" '
            f'y="{MT + 11 + 11 * (len(parts) % 3)}" '
            f'fill="{colour}">{escape(label)}</text><title>{escape(label)} at {t_s:.3f}s'
            f"</title></g>"
        )
    legend_x = ML
    for name, pts in tl.series.items():
        colour = color_for(name, PROBE_COLORS)
        ok = [(p.t_s, p.latency_us) for p in pts if p.kind == "ok" and p.latency_us]
        failed = [p for p in pts if p.kind == "fail"]
        timeouts = [p for p in pts if p.kind == "timeout"]
        dots = "".join(f"M{x(t_s):.1f} {y(latency_us):.1f}h0" for t_s, latency_us in ok)
        crosses = "".join(
            f"M{x(p.t_s) - 3:.1f} {y(p.latency_us or hi) - 3:.1f}l6 6m0 -6l-6 6" for p in failed
        )
        tris = "".join(f"M{x(p.t_s):.1f} {MT + 1}l-3 6h6z" for p in timeouts)
        parts.append(
            f'<g class="series" data-series="{escape(name)}" data-ok="{len(ok)}" '
            f'data-failed="{len(failed)}" data-timeouts="{len(timeouts)}">'
            f"<title>{escape(name)}: {len(ok)} ok, {len(failed)} failed, "
            f"{len(timeouts)} timed out or stalled</title>"
            f'<path d="{dots}" stroke="{colour}" stroke-width="3.5" stroke-linecap="round" '
            f'opacity="0.75"/>'
            + (
                f'<path data-kind="failed" d="{crosses}" stroke="{FAIL_COLOR}" '
                f'stroke-width="1.6" fill="none"/>'
                if failed
                else ""
            )
            + (f'<path data-kind="timeout" d="{tris}" fill="{FAIL_COLOR}"/>' if timeouts else "")
            + "</g>"
        )
        parts.append(
            f'<circle cx="{legend_x + 4}" cy="29" r="4" fill="{colour}"/>'
            f'<text x="{legend_x + 11}" y="33">{escape(name)}</text>'
        )
        legend_x += 14 + 7 * len(name) + 12
    parts.append(
        f'<path d="M{legend_x} 26l6 6m0 -6l-6 6" stroke="{FAIL_COLOR}" stroke-width="1.6"/>'
        f'<text x="{legend_x + 9}" y="33">failed</text>'
        f'<path d="M{legend_x + 60} 26l-3 6h6z" fill="{FAIL_COLOR}"/>'
        f'<text x="{legend_x + 66}" y="33">timeout/stall</text>'
        f'<rect x="{legend_x + 150}" y="26" width="14" height="8" fill="#f4a0a0"/>'
        f'<text x="{legend_x + 167}" y="33">drop (start to end)</text>'
        f'<rect x="{legend_x + 280}" y="26" width="14" height="8" fill="#fdf0f0" stroke="#ccc"/>'
        f'<text x="{legend_x + 297}" y="33">fault phase</text>'
        f'<rect x="{legend_x + 370}" y="28" width="14" height="5" fill="#555"/>'
        f'<text x="{legend_x + 387}" y="33">machine stall</text>'
    )
    parts.append(f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)
