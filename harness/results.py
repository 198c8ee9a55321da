"""The result model: what a run found, typed, and its report.json form. Pure, no I/O.

One ``ScenarioResult`` per scenario (verdict, reason, the drop and its evidence, probe
statistics per probe x phase, violations, machine stalls, problems), gathered in a
``Report``; the parts (rows, violations, drop, stalls, scratch) are in ``harness.findings``.
The checkers build them; the CLI, the pytest plugin and every report read them.
``to_json()`` gives report.json's documents, key for key as they have always been;
``from_json()`` reads them back, also those older runs wrote.

Open to extension: a key this model does not know (a new checker's per-violation detail, a
new kind of result) is kept in the object's ``extra`` and written back after the known keys,
never dropped. A new field becomes typed by adding it here, with its JSON name.

For code written against the dict entries that came before, every object also answers
``obj["key"]``, ``obj.get("key")`` and ``"key" in obj`` with its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harness.findings import (
    DropResult,
    HostStalls,
    JsonView,
    PhaseStats,
    ProbeTable,
    Scratch,
    Violation,
    json_object,
    picked,
    present_keys,
    probes_from_json,
    probes_to_json,
    unknown_keys,
)

VERDICTS = ("pass", "fail", "error", "skip")
REPORT_VERSION = 1


# Optional fields of a scenario entry that from_json takes as they are.
ENTRY_FIELDS_AS_READ = (
    *("description", "dialect", "bounds", "phases", "history"),
    *("target", "duration_s", "server_logs"),
)


@dataclass(frozen=True)
class ScenarioResult(JsonView):
    """One scenario's outcome: one scenarios[] entry of report.json.

    The contract: name, verdict (pass | fail | error | skip), reason, drop, probes,
    violations. Then what the run measured besides (host_stalls, scratch), what the scenario
    asked for (description, dialect, bounds as Bounds.to_json(), phases as name -> [start_s,
    end_s]), where it ran (history, target, duration_s, server_logs), and ``problems``: why
    an ``error`` verdict could not judge (run errors, rows without samples)."""

    name: str
    verdict: str
    reason: str = ""
    drop: DropResult | None = None
    probes: ProbeTable = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    host_stalls: HostStalls | None = None
    scratch: Scratch | None = None
    description: str | None = None
    dialect: str | None = None
    bounds: dict | None = None
    phases: dict | None = None
    history: str | None = None
    target: str | None = None
    duration_s: float | None = None
    server_logs: str | None = None
    problems: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    KEYS = (
        "name",
        "verdict",
        "reason",
        "drop",
        "probes",
        "violations",
        "host_stalls",
        "scratch",
        "description",
        "dialect",
        "bounds",
        "phases",
        "history",
        "target",
        "duration_s",
        "server_logs",
        "problems",
    )

    @classmethod
    def errored(cls, name: str, reason: str) -> ScenarioResult:
        """A scenario that never ran (e.g. the target was unreachable)."""
        return cls(name=name, verdict="error", reason=reason, problems=(reason,))

    @classmethod
    def skipped(cls, name: str, reason: str) -> ScenarioResult:
        return cls(name=name, verdict="skip", reason=reason)

    def with_(self, **changes: Any) -> ScenarioResult:
        return replace(self, **changes)

    def row(self, probe: str, phase: str) -> PhaseStats | None:
        return self.probes.get(probe, {}).get(phase)

    def bound_for(self, probe: str) -> dict | None:
        """The bound (Bound's fields as a dict) the probe was judged by, if recorded."""
        bounds = self.bounds or {}
        return (bounds.get("per_probe") or {}).get(probe) or bounds.get("default")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "reason": self.reason,
            "drop": None if self.drop is None else self.drop.to_json(),
            "probes": probes_to_json(self.probes),
            "violations": [v.to_json() for v in self.violations],
            "host_stalls": None if self.host_stalls is None else self.host_stalls.to_json(),
            **present_keys(
                scratch=None if self.scratch is None else self.scratch.to_json(),
                description=self.description,
                dialect=self.dialect,
                bounds=self.bounds,
                phases=self.phases,
                history=self.history or None,
                target=self.target,
                duration_s=self.duration_s,
                server_logs=self.server_logs,
                problems=list(self.problems) or None,
            ),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> ScenarioResult:
        """An entry of report.json, of this version or an older one; ValueError when it is
        not one (no name or verdict, or a part of the wrong shape)."""
        d = json_object(doc, "a scenario entry")
        if "name" not in d or "verdict" not in d:
            raise ValueError("a scenario entry has no name or verdict")
        drop, stalls, scratch = d.get("drop"), d.get("host_stalls"), d.get("scratch")
        violations = d.get("violations")
        violations = [] if violations is None else violations
        if not isinstance(violations, list):
            raise ValueError("violations is not a list")
        return cls(
            name=str(d["name"]),
            verdict=str(d["verdict"]),
            reason=str(d.get("reason") or ""),
            drop=None if drop is None else DropResult.from_json(drop),
            probes=probes_from_json(d.get("probes")),
            violations=tuple(Violation.from_json(v) for v in violations),
            host_stalls=None if stalls is None else HostStalls.from_json(stalls),
            scratch=None if not scratch else Scratch.from_json(scratch),
            **picked(d, ENTRY_FIELDS_AS_READ),
            problems=tuple(d.get("problems") or ()),
            extra=unknown_keys(d, cls.KEYS),
        )


def nothing_tested(entries) -> list[str] | None:
    """Why nothing was tested when every scenario was skipped: the skip reasons, each once, in
    order; None when any scenario ran (or there were none). Skips keep exit 0 (pytest's
    convention), so this is what tells such a run from a pass."""
    if not entries or any(e.verdict != "skip" for e in entries):
        return None
    return list(dict.fromkeys(e.reason for e in entries))


@dataclass(frozen=True)
class Report(JsonView):
    """report.json: the target, the server build where known, and every scenario's result.
    ``summary`` (verdict counts) is derived from the scenarios."""

    target: str
    scenarios: tuple[ScenarioResult, ...] = ()
    server: str | None = None
    version: int = REPORT_VERSION
    extra: dict = field(default_factory=dict)

    KEYS = ("version", "target", "summary", "scenarios", "server")

    @property
    def summary(self) -> dict[str, Any]:
        """Verdict counts; ``nothing_tested`` (the skip reasons) when every scenario was skipped."""
        counts: dict[str, Any] = {v: sum(s.verdict == v for s in self.scenarios) for v in VERDICTS}
        why = nothing_tested(self.scenarios)
        return counts if why is None else {**counts, "nothing_tested": why}

    def scenario(self, name: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.name == name), None)

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "target": self.target,
            "summary": self.summary,
            "scenarios": [s.to_json() for s in self.scenarios],
            **present_keys(server=self.server or None),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Report:
        """report.json, of this version or an older one; ValueError when it is not one."""
        d = json_object(doc, "the report")
        if not isinstance(d.get("scenarios"), list):
            raise ValueError("no scenarios[] in the report")
        return cls(
            target=str(d.get("target", "?")),
            scenarios=tuple(ScenarioResult.from_json(s) for s in d["scenarios"]),
            server=d.get("server"),
            version=d.get("version", REPORT_VERSION),
            extra=unknown_keys(d, cls.KEYS),
        )
