"""SVG plots for the HTML reports: a latency timeline and a percentile spectrum. Pure.

Both return an ``<svg>`` string with inline styles only (the page must open from file://
with no network). Every series is an element with ``data-series`` (and counts in data
attributes) so a browser test can check what was drawn. Points are drawn as zero-length
path segments with round caps: about 14 bytes per operation, so a run's thousands of
operations stay a few hundred kilobytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

PROBE_COLORS = {
    "nbstat": "#1f77b4",
    "nbt_session": "#2ca02c",
    "smb_echo": "#ff7f0e",
    "smb_rw": "#9467bd",
}
PHASE_COLORS = {"baseline": "#1f77b4", "fault": "#d62728", "recovery": "#2ca02c"}
EXTRA_COLORS = ["#8c564b", "#e377c2", "#17becf", "#bcbd22"]
FAIL_COLOR = "#d62728"


def log_axis(lo: float, hi: float, top_px: float, height_px: float) -> Callable[[float], float]:
    """A value's y pixel on a logarithmic axis: ``hi`` at ``top_px``, ``lo`` ``height_px``
    below it; values outside [lo, hi] are clamped to its ends."""
    span = math.log10(hi) - math.log10(lo)

    def y(v: float) -> float:
        v = min(max(v, lo), hi)
        return top_px + height_px * (1 - (math.log10(v) - math.log10(lo)) / span)

    return y


def color_for(name: str, palette: dict[str, str]) -> str:
    return palette.get(name) or EXTRA_COLORS[sum(map(ord, name)) % len(EXTRA_COLORS)]


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


def _decades(lo_us: float, hi_us: float) -> tuple[float, float]:
    lo = 10 ** math.floor(math.log10(max(lo_us, 1.0)))
    hi = 10 ** math.ceil(math.log10(max(hi_us, lo * 10)))
    return lo, hi


def _ms_label(us: float) -> str:
    ms = us / 1000
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms / 1000:.3g} s"


def _y_axis(
    lo: float, hi: float, y, left: float = ML, right: float = W - MR, label_px: int = 4
) -> list[str]:
    """A grey line across the plot and its label at each decade of the log y axis."""
    out = []
    v = lo
    while v <= hi * 1.0001:
        yy = y(v)
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
            f'<text x="{left - label_px}" y="{yy + label_px:.1f}" '
            f'text-anchor="end">{_ms_label(v)}</text>'
        )
        v *= 10
    return out


def _svg_open(
    kind: str,
    width: int,
    height: int,
    title: str,
    left: float,
    font_px: int = 10,
    title_y: int = 12,
) -> list[str]:
    """The opening of a plot's SVG (class ``kind``) and its title, if any."""
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="{font_px}">'
        )
    ]
    if title:
        parts.append(f'<text x="{left}" y="{title_y}" font-weight="bold">{escape(title)}</text>')
    return parts


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
    parts += _y_axis(lo, hi, y)
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
        colour = {"evidence": "#000", "trigger": "#9400d3", "recover": "#2e8b57"}.get(kind, "#444")
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


# -- percentile spectrum ---------------------------------------------------------------------

SW, SH = 470, 260
SL, SR, ST, SB = 58, 20, 34, 34


def spectrum_points(buckets: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """(x = 1/(1-p), value_us) corners of the step function of a distribution's quantiles;
    the last step runs to x = 2N (p = 1 has no finite x)."""
    n = sum(c for _, c in buckets)
    if n == 0:
        return []
    pts = []
    cum = 0
    for value, count in buckets:
        p0 = cum / n
        cum += count
        p1 = min(cum / n, 1 - 1 / (2 * n))
        pts.append((1 / (1 - p0), float(value)))
        pts.append((1 / (1 - p1), float(value)))
    return pts


def spectrum_svg(
    series: dict[str, list[tuple[int, int]]],
    title: str = "",
    limits_us: dict[str, float] | None = None,
    colors: dict[str, str] | None = None,
) -> str:
    """Percentile spectrum: latency (log y) against 1/(1-p) (log x: 50 %, 90 %, 99 %, ...),
    one step line per named distribution; optional horizontal lines for limits."""
    colors = colors or PHASE_COLORS
    pts = {name: spectrum_points(b) for name, b in series.items()}
    values = [v for p in pts.values() for _, v in p] + list((limits_us or {}).values())
    lo, hi = _decades(min(values, default=100.0), max(values, default=1000.0))
    xmax = 10 ** max(
        1, math.ceil(math.log10(max((x for p in pts.values() for x, _ in p), default=10)))
    )
    pw, ph = SW - SL - SR, SH - ST - SB

    def x(v: float) -> float:
        return SL + pw * math.log10(min(max(v, 1.0), xmax)) / math.log10(xmax)

    y = log_axis(lo, hi, ST, ph)

    parts = _svg_open("spectrum", SW, SH, title, SL)
    parts += _y_axis(lo, hi, y, SL, SW - SR, label_px=3)
    tick = 1
    while tick <= xmax:
        label = "0%" if tick == 1 else f"{100 * (1 - 1 / tick):g}%"
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{ST}" y2="{ST + ph}" '
            f'stroke="#eee"/><text x="{x(tick):.1f}" y="{ST + ph + 12}" '
            f'text-anchor="middle">{label}</text>'
        )
        tick *= 10
    x2 = x(2)
    parts.append(
        f'<line x1="{x2:.1f}" x2="{x2:.1f}" y1="{ST}" y2="{ST + ph}" stroke="#eee"/>'
        f'<text x="{x2:.1f}" y="{ST + ph + 12}" text-anchor="middle">50%</text>'
        f'<text x="{SL + pw / 2}" y="{SH - 4}" text-anchor="middle" fill="#555">'
        f"percentile (x = 1/(1-p), log)</text>"
    )
    for name, limit in (limits_us or {}).items():
        parts.append(
            f'<g data-limit="{escape(name)}"><line x1="{SL}" x2="{SW - SR}" y1="{y(limit):.1f}" '
            f'y2="{y(limit):.1f}" stroke="#b00" stroke-dasharray="4,3"/>'
            f'<text x="{SW - SR - 2}" y="{y(limit) - 2:.1f}" text-anchor="end" fill="#b00">'
            f"{escape(name)} {_ms_label(limit)}</text></g>"
        )
    legend_x = SL
    for name, p in pts.items():
        colour = color_for(name, colors)
        n = sum(c for _, c in series[name])
        d = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in p)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" data-count="{n}" '
            f'points="{d}" fill="none" stroke="{colour}" stroke-width="1.8">'
            f"<title>{escape(name)}: {n} samples</title></polyline>"
        )
        parts.append(
            f'<rect x="{legend_x}" y="20" width="10" height="3" fill="{colour}"/>'
            f'<text x="{legend_x + 13}" y="25">{escape(name)} ({n})</text>'
        )
        legend_x += 30 + 6 * (len(name) + len(str(n)))
    parts.append(f'<rect x="{SL}" y="{ST}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


# -- trend across runs -----------------------------------------------------------------------

TW, TH = 470, 240
TL, TR, TT, TB = 58, 20, 34, 46


def trend_svg(
    labels: list[str],
    series: dict[str, list[float | None]],
    title: str = "",
    colors: dict[str, str] | None = None,
) -> str:
    """One value per run (log y; x: the runs in order, labelled by ``labels``), one line with
    a dot per run for each named series; None leaves a gap (the run lacks it). Each series is
    a ``g.series`` with ``data-series`` and ``data-points`` (how many runs it has a value for)."""
    colors = colors or PROBE_COLORS
    values = [v for vs in series.values() for v in vs if v]
    lo, hi = _decades(min(values, default=100.0), max(values, default=1000.0))
    pw, ph = TW - TL - TR, TH - TT - TB
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return TL + (pw / 2 if n == 1 else pw * i / (n - 1))

    y = log_axis(lo, hi, TT, ph)
    parts = _svg_open("trend", TW, TH, title, TL)
    parts += _y_axis(lo, hi, y, TL, TW - TR, label_px=3)
    every = max(1, math.ceil(n / 8))  # at most about 8 labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            anchor = (
                "middle" if n == 1 else "start" if i == 0 else "end" if i == n - 1 else "middle"
            )
            parts.append(
                f'<text x="{x(i):.1f}" y="{TT + ph + 13}" text-anchor="{anchor}">'
                f"{escape(label)}</text>"
            )
    legend_x = TL
    for name, vs in series.items():
        colour = color_for(name, colors)
        pts = [(x(i), y(v)) for i, v in enumerate(vs) if v]
        path, pen = [], "M"
        for i, value in enumerate(vs):
            if not value:
                pen = "M"
                continue
            path.append(f"{pen}{x(i):.1f} {y(value):.1f}")
            pen = "L"
        dots = "".join(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5"/>' for a, b in pts)
        parts.append(
            f'<g class="series" data-series="{escape(name)}" data-points="{len(pts)}" '
            f'fill="{colour}"><title>{escape(name)}</title>'
            f'<path d="{"".join(path)}" stroke="{colour}" stroke-width="1.5" fill="none"/>'
            f"{dots}</g>"
        )
        parts.append(
            f'<circle cx="{legend_x + 4}" cy="{TH - 10}" r="4" fill="{colour}"/>'
            f'<text x="{legend_x + 11}" y="{TH - 6}">{escape(name)}</text>'
        )
        legend_x += 14 + 6 * len(name) + 10
    parts.append(f'<rect x="{TL}" y="{TT}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)
