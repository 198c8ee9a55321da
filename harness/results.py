"""The result model: what a run found, typed, and its report.json form. Pure, no I/O.

One ``ScenarioResult`` per scenario (verdict, reason, the drop and its evidence, probe
statistics per probe x phase, violations, machine stalls, problems), gathered in a
``Report``. The checkers build them; the CLI, the pytest plugin and every report read them.
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

from harness.stats import p99_basis

VERDICTS = ("pass", "fail", "error", "skip")
REPORT_VERSION = 1


class _JsonView:
    """Read-only mapping access to the JSON form (``result["verdict"]``)."""

    def to_json(self) -> dict:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_json().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_json()


def _obj(doc: Any, what: str) -> dict:
    if not isinstance(doc, dict):
        raise ValueError(f"{what} is not an object")
    return doc


def _rest(doc: dict, known: tuple[str, ...]) -> dict:
    return {k: v for k, v in doc.items() if k not in known}


def _present(**fields: Any) -> dict:
    """The optional keys of a JSON form, in order: each whose value is not None."""
    return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class PhaseStats(_JsonView):
    """One probe in one phase: counts and latencies (µs) of the healthy clients' operations.

    ``p99_basis``: "p99", or "max" when fewer than 100 successful samples make ``p99_us``
    the maximum. ``hdr``: the successful latencies as an encoded HdrHistogram."""

    count: int
    errors: int
    p50_us: int | None
    p99_us: int | None
    max_us: int | None
    p99_basis: str | None
    host_stall_corrected: int = 0
    hdr: str | None = None
    extra: dict = field(default_factory=dict)

    KEYS = (
        "count",
        "errors",
        "p50_us",
        "p99_us",
        "max_us",
        "p99_basis",
        "host_stall_corrected",
        "hdr",
    )

    @property
    def successes(self) -> int:
        return self.count - self.errors

    def to_json(self) -> dict:
        return {
            "count": self.count,
            "errors": self.errors,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "max_us": self.max_us,
            "p99_basis": self.p99_basis,
            "host_stall_corrected": self.host_stall_corrected,
            **_present(hdr=self.hdr),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> PhaseStats:
        """A row; one written before ``p99_basis`` existed gets it from its counts."""
        d = _obj(doc, "a probe row")
        count, errors = int(d.get("count", 0)), int(d.get("errors", 0))
        basis = d["p99_basis"] if "p99_basis" in d else p99_basis(count - errors)
        return cls(
            count=count,
            errors=errors,
            p50_us=d.get("p50_us"),
            p99_us=d.get("p99_us"),
            max_us=d.get("max_us"),
            p99_basis=basis,
            host_stall_corrected=int(d.get("host_stall_corrected", 0)),
            hdr=d.get("hdr"),
            extra=_rest(d, cls.KEYS),
        )


ProbeTable = dict[str, dict[str, PhaseStats]]  # probe -> phase -> row


def probes_from_json(doc: Any) -> ProbeTable:
    return {
        str(probe): {
            str(phase): PhaseStats.from_json(row)
            for phase, row in _obj(phases, f"probe {probe}").items()
        }
        for probe, phases in _obj({} if doc is None else doc, "probes").items()
    }


def probes_to_json(table: ProbeTable) -> dict:
    return {
        probe: {phase: row.to_json() for phase, row in phases.items()}
        for probe, phases in table.items()
    }


@dataclass(frozen=True)
class Violation(_JsonView):
    """A bound a probe broke in a phase. Latency statistics (``stat`` p99 or max) carry
    ``observed_us``/``limit_us``; error counts (``stat`` errors) carry ``observed``/``limit``
    and None in the µs fields. ``basis`` "max": the p99 limit was held against the maximum
    (fewer than 100 samples). Any other key a checker adds stays in ``extra``."""

    probe: str
    phase: str
    stat: str
    observed_us: float | None = None
    limit_us: float | None = None
    observed: int | None = None
    limit: int | None = None
    basis: str | None = None
    extra: dict = field(default_factory=dict)

    KEYS = ("probe", "phase", "stat", "observed_us", "limit_us", "observed", "limit", "basis")

    def to_json(self) -> dict:
        return {
            "probe": self.probe,
            "phase": self.phase,
            "stat": self.stat,
            "observed_us": self.observed_us,
            "limit_us": self.limit_us,
            **_present(observed=self.observed, limit=self.limit, basis=self.basis),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Violation:
        d = _obj(doc, "a violation")
        return cls(
            probe=str(d.get("probe")),
            phase=str(d.get("phase")),
            stat=str(d.get("stat")),
            observed_us=d.get("observed_us"),
            limit_us=d.get("limit_us"),
            observed=d.get("observed"),
            limit=d.get("limit"),
            basis=d.get("basis"),
            extra=_rest(d, cls.KEYS),
        )


@dataclass(frozen=True)
class DropResult(_JsonView):
    """The scheduled drop: when it started (s since t0), the server-side evidence that it
    happened (None: none found, ``no_evidence`` says why), what the victim reported
    (``detail``) and what was seen of it after (``after``)."""

    mode: str | None
    at_s: float | None = None
    evidence: dict | None = None
    evidence_at_s: float | None = None
    no_evidence: str | None = None
    detail: Any = None
    after: tuple[dict, ...] = ()
    scheduled_s: float | None = None  # when the schedule had it begin (at_s: when it did)
    extra: dict = field(default_factory=dict)

    KEYS = (
        "mode",
        "at_s",
        "evidence",
        "evidence_at_s",
        "no_evidence",
        "detail",
        "after",
        "scheduled_s",
    )

    @property
    def proven(self) -> bool:
        return bool(self.evidence)

    def to_json(self) -> dict:
        return {
            "mode": self.mode,
            "at_s": self.at_s,
            "evidence": self.evidence,
            "evidence_at_s": self.evidence_at_s,
            **_present(
                no_evidence=self.no_evidence or None,
                detail=self.detail or None,
                after=list(self.after) or None,
                scheduled_s=self.scheduled_s,
            ),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> DropResult:
        d = _obj(doc, "a drop")
        return cls(
            mode=d.get("mode"),
            at_s=d.get("at_s"),
            evidence=d.get("evidence"),
            evidence_at_s=d.get("evidence_at_s"),
            no_evidence=d.get("no_evidence"),
            detail=d.get("detail"),
            after=tuple(d.get("after") or ()),
            scheduled_s=d.get("scheduled_s"),
            extra=_rest(d, cls.KEYS),
        )


@dataclass(frozen=True)
class HostStalls(_JsonView):
    """Machine stalls the canary saw: how many, and the longest (µs)."""

    count: int = 0
    worst_us: int = 0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"count": self.count, "worst_us": self.worst_us, **self.extra}

    @classmethod
    def from_json(cls, doc: Any) -> HostStalls:
        d = _obj(doc, "host_stalls")
        return cls(
            count=d.get("count", 0),
            worst_us=d.get("worst_us", 0),
            extra=_rest(d, ("count", "worst_us")),
        )


@dataclass(frozen=True)
class Scratch(_JsonView):
    """Scratch files the run's clients left on the share: removed, and left behind."""

    removed: tuple[str, ...] = ()
    left: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"removed": list(self.removed), "left": list(self.left)}

    @classmethod
    def from_json(cls, doc: Any) -> Scratch:
        d = _obj(doc, "scratch")
        return cls(removed=tuple(d.get("removed") or ()), left=tuple(d.get("left") or ()))


@dataclass(frozen=True)
class ScenarioResult(_JsonView):
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
            **_present(
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
        d = _obj(doc, "a scenario entry")
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
            description=d.get("description"),
            dialect=d.get("dialect"),
            bounds=d.get("bounds"),
            phases=d.get("phases"),
            history=d.get("history"),
            target=d.get("target"),
            duration_s=d.get("duration_s"),
            server_logs=d.get("server_logs"),
            problems=tuple(d.get("problems") or ()),
            extra=_rest(d, cls.KEYS),
        )


def nothing_tested(entries) -> list[str] | None:
    """Why nothing was tested when every scenario was skipped: the skip reasons, each once, in
    order; None when any scenario ran (or there were none). Skips keep exit 0 (pytest's
    convention), so this is what tells such a run from a pass."""
    if not entries or any(e.verdict != "skip" for e in entries):
        return None
    return list(dict.fromkeys(e.reason for e in entries))


@dataclass(frozen=True)
class Report(_JsonView):
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
            **_present(server=self.server or None),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Report:
        """report.json, of this version or an older one; ValueError when it is not one."""
        d = _obj(doc, "the report")
        if not isinstance(d.get("scenarios"), list):
            raise ValueError("no scenarios[] in the report")
        return cls(
            target=str(d.get("target", "?")),
            scenarios=tuple(ScenarioResult.from_json(s) for s in d["scenarios"]),
            server=d.get("server"),
            version=d.get("version", REPORT_VERSION),
            extra=_rest(d, cls.KEYS),
        )
