"""The text report's lines for a run of several drops (report.json ``drops``): one per drop,
when it was planned and began, on which victim, and its proof or why there is none."""

from __future__ import annotations

MAX_LINES = 12


def drops_lines(drops) -> list[str]:
    """``   drop 2 fin on victim at 4.690s (planned 4.686s): proven`` per drop; [] for none."""
    if not isinstance(drops, list) or not drops:
        return []
    lines = []
    for d in drops[:MAX_LINES]:
        at = "-" if d.get("at_s") is None else f"{d['at_s']:.3f}s"
        planned = "-" if d.get("scheduled_s") is None else f"{d['scheduled_s']:.3f}s"
        how = (
            "proven" if d.get("evidence") else f"unproven: {d.get('no_evidence') or 'no evidence'}"
        )
        lines.append(
            f"   drop {d.get('index')} {d.get('mode')} on {d.get('victim')} at {at} "
            f"(planned {planned}): {how}"
        )
    if len(drops) > MAX_LINES:
        lines.append(f"   (+{len(drops) - MAX_LINES} more drops in report.json)")
    return lines
