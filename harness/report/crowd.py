"""The crowd's rows in the printed table and in report.html: one row per phase (count,
errors, p50, p99, max, workers) and a line per worker lost. Pure."""

from __future__ import annotations

from html import escape

from harness.checkers.crowd import lost_lines
from harness.schedule import PHASES

HEADERS = ["crowd", "phase", "count", "errors", "p50 ms", "p99 ms", "max ms", "workers"]


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def crowd_cells(crowd: dict) -> list[list[str]]:
    """One row of cells per phase the crowd has figures for."""
    rows = crowd.get("rows") or {}
    out = []
    for phase in PHASES:
        row = rows.get(phase)
        if not row:
            continue
        p99 = "max*" if row.get("p99_basis") == "max" else _ms(row.get("p99_us"))
        out.append(
            [
                "crowd",
                phase,
                str(row.get("count")),
                str(row.get("errors")),
                _ms(row.get("p50_us")),
                p99,
                _ms(row.get("max_us")),
                str(row.get("workers")),
            ]
        )
    return out


def _title(crowd: dict) -> str:
    workers = crowd.get("workers") or []
    return f"crowd: {crowd.get('spawned')} of {crowd.get('users')} users on {len(workers)} workers"


def crowd_lines(crowd: dict | None) -> list[str]:
    """The printed table's crowd section (nothing without a crowd)."""
    if not isinstance(crowd, dict):
        return []
    lines = [f"   {_title(crowd)} ({', '.join(crowd.get('workers') or []) or 'none'})"]
    lines += [
        f"   {c[0]:<12} {c[1]:<9} {c[2]:>6} {c[3]:>6} {c[4]:>8} {c[5]:>8} {c[6]:>8} {c[7]:>7}"
        for c in crowd_cells(crowd)
    ]
    rows = crowd.get("rows") or {}
    lines += [
        f"   crowd {phase} errors: {rows[phase]['top_error']}"
        for phase in PHASES
        if (rows.get(phase) or {}).get("top_error")
    ]
    lines += [f"   {line}" for line in lost_lines(crowd.get("lost") or [])]
    return lines


def crowd_html(crowd: dict | None) -> str:
    """report.html's crowd section (empty without a crowd)."""
    if not isinstance(crowd, dict):
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
        for cells in crowd_cells(crowd)
    )
    lost = "".join(
        f'<p class="fail">{escape(line)}</p>' for line in lost_lines(crowd.get("lost") or [])
    )
    return (
        f'<h3 data-crowd="1">{escape(_title(crowd))}</h3>'
        f"<table><tr>{head}</tr>{body}</table>{lost}"
        '<p class="note">The crowd: Locust users, each one SMB session doing its mix of '
        "operations; latency counted from when each operation was due, merged exactly from "
        "every worker's HdrHistograms.</p>"
    )
