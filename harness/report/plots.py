"""SVG plots for the HTML reports: a percentile spectrum and a trend across runs, and what
every plot shares (log axes, palettes, the opening of an ``<svg>``; the latency timeline is
harness.report.timeline_plot's). Pure.

Each returns an ``<svg>`` string with inline styles only (the page must open from file://
with no network). Every series is an element with ``data-series`` (and counts in data
attributes) so a browser test can check what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

PROBE_COLORS = {
    "nbstat": "#1f77b4",
    "nbt_session": "#2ca02c",
    "smb_echo": "#ff7f0e",
    "smb_rw": "#9467bd",
}
PHASE_COLORS = {"baseline": "#1f77b4", "fault": "#d62728", "recovery": "#2ca02c"}
EXTRA_COLORS = ["#8c564b", "#e377c2", "#17becf", "#bcbd22"]


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


def _decades(lo_us: float, hi_us: float) -> tuple[float, float]:
    lo = 10 ** math.floor(math.log10(max(lo_us, 1.0)))
    hi = 10 ** math.ceil(math.log10(max(hi_us, lo * 10)))
    return lo, hi


def _ms_label(us: float) -> str:
    ms = us / 1000
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms / 1000:.3g} s"


def _y_axis(lo: float, hi: float, y, left: float, right: float, label_px: int = 4) -> list[str]:
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
