"""The index of kept runs (``nbt-harness runs``): one summary per run directory, one line
each, the newest passing run of a target (``compare --against latest-pass``) and the
index.html page with each scenario's p99 trend across runs. Pure: reports in, text out
(harness.report.files reads the directories and writes the page)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from harness.report.html import _table, page
from harness.report.plots import trend_svg
from harness.results import Report

TREND_PHASE = "fault"  # the phase the drop falls in: where a stall shows
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)")
VERDICT_ORDER = ("pass", "fail", "error", "skip")


@dataclass(frozen=True)
class RunSummary:
    """One kept run: its directory's name, when it started (UTC), what it ran against, and
    per scenario and probe the fault phase's p99 (µs; the maximum under 100 samples)."""

    name: str
    started: datetime
    target: str
    server: str | None
    dialects: tuple[str, ...]
    verdicts: dict[str, int]
    p99_us: dict[str, dict[str, int | None]] = field(default_factory=dict)

    @property
    def target_kind(self) -> str:
        """The target as given to --target (the label's first word): what runs are matched on."""
        return self.target.split(" ", 1)[0]

    @property
    def passed(self) -> bool:
        """Every scenario passed or was skipped, and at least one passed."""
        v = self.verdicts
        return v.get("pass", 0) > 0 and not v.get("fail", 0) and not v.get("error", 0)

    def line(self) -> str:
        counts = ", ".join(f"{self.verdicts.get(k, 0)} {k}" for k in VERDICT_ORDER)
        return (
            f"{self.started:%Y-%m-%d %H:%M:%SZ}  {self.name}  {self.target_kind}  "
            f"{self.server or 'server ?'}  dialect {'/'.join(self.dialects) or '?'}  {counts}"
        )


def started_at(name: str, mtime_s: float) -> datetime:
    """The start time in a run directory's name (20261126T171500Z-...), else ``mtime_s``."""
    m = _STAMP.match(name)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.fromtimestamp(mtime_s, UTC)


def summarize(name: str, mtime_s: float, doc: Report) -> RunSummary:
    dialects = []
    for s in doc.scenarios:
        got = s.extra.get("negotiated")
        d = got.get("dialect") if isinstance(got, dict) else None
        if d and d not in dialects:
            dialects.append(str(d))
    p99 = {
        s.name: {
            probe: (row.p99_us if (row := phases.get(TREND_PHASE)) else None)
            for probe, phases in s.probes.items()
        }
        for s in doc.scenarios
    }
    return RunSummary(
        name=name,
        started=started_at(name, mtime_s),
        target=doc.target,
        server=doc.server,
        dialects=tuple(dialects),
        verdicts=doc.summary,
        p99_us=p99,
    )


def in_order(runs: list[RunSummary]) -> list[RunSummary]:
    """Oldest first (ties by name)."""
    return sorted(runs, key=lambda r: (r.started, r.name))


def latest_pass(runs: list[RunSummary], of: RunSummary) -> RunSummary | None:
    """The newest passing run of ``of``'s target that started before it (never itself)."""
    older = [
        r
        for r in runs
        if r.passed
        and r.target_kind == of.target_kind
        and r.name != of.name
        and (r.started, r.name) < (of.started, of.name)
    ]
    return in_order(older)[-1] if older else None


def trends(runs: list[RunSummary]) -> dict[str, dict[str, list[int | None]]]:
    """Per scenario, per probe: the p99 of every run in order (None where a run lacks it)."""
    out: dict[str, dict[str, list[int | None]]] = {}
    for r in runs:
        for scenario, row in r.p99_us.items():
            for probe in row:
                out.setdefault(scenario, {}).setdefault(probe, [])
    for scenario, series in out.items():
        for probe, values in series.items():
            values.extend(r.p99_us.get(scenario, {}).get(probe) for r in runs)
    return out


def render_index(runs: list[RunSummary], harness_version: str) -> str:
    """index.html: a table of the runs (each linking its report.html), then per scenario its
    p99 trend across the runs, one line per probe. Everything inline (file:// safe)."""
    runs = in_order(runs)
    rows, classes = [], []
    for r in runs:
        counts = ", ".join(f"{r.verdicts[k]} {k}" for k in VERDICT_ORDER if r.verdicts.get(k))
        rows.append(
            [
                f"{r.started:%Y-%m-%d %H:%M:%SZ}",
                f'<a href="{escape(r.name)}/report.html">{escape(r.name)}</a>',
                f"<code>{escape(r.target)}</code>",
                escape(r.server or "?"),
                escape("/".join(r.dialects) or "?"),
                escape(counts or "none"),
            ]
        )
        classes.append(
            "pass"
            if r.passed
            else "fail"
            if r.verdicts.get("fail")
            else "error"
            if r.verdicts.get("error")
            else "skip"
        )
    table = _table(
        ["started (UTC)", "run", "target", "server", "dialect", "verdicts"], rows, classes
    )
    labels = [f"{r.started:%m-%d %H:%M}" for r in runs]
    charts = []
    for scenario, probes in sorted(trends(runs).items()):
        charts.append(
            f'<div class="trend-box" data-trend="{escape(scenario)}">'
            + trend_svg(
                labels,
                {p: list(v) for p, v in probes.items()},
                f"{scenario}: {TREND_PHASE} p99 per run",
            )
            + "</div>"
        )
    head = (
        f"<h1>nbt-harness runs</h1><p>{len(runs)} kept run(s), oldest first; "
        f"nbt-harness {escape(harness_version)}.</p>"
    )
    note = (
        f'<p class="note">Each chart: one scenario, the {TREND_PHASE} phase\'s p99 latency '
        "of each probe in every run that ran it (the maximum when a run had fewer than 100 "
        "samples), on a log scale.</p>"
    )
    return page(
        "nbt-harness runs",
        head
        + table
        + "<h2>p99 trends</h2>"
        + note
        + '<div class="spectra">'
        + "".join(charts)
        + "</div>",
    )
