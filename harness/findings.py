"""The parts of one scenario's result, typed, and their report.json form. Pure, no I/O.

What a run found besides its verdict: probe statistics per probe x phase (``PhaseStats``), the
bounds they broke (``Violation``), the drop and its evidence (``DropResult``), machine stalls
(``HostStalls``) and scratch files (``Scratch``). ``harness.results`` gathers them into a
``ScenarioResult`` and a ``Report``; ``JsonView`` and the helpers here are what both share.

Each part keeps a key it does not know in ``extra`` and writes it back after the known keys;
each answers ``obj["key"]``, ``obj.get("key")`` and ``"key" in obj`` with its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.stats import p99_basis


class JsonView:
    """Read-only mapping access to the JSON form (``result["verdict"]``)."""

    def to_json(self) -> dict:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_json().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_json()


def json_object(doc: Any, what: str) -> dict:
    """``doc`` when it is a JSON object; ValueError naming ``what`` when not."""
    if not isinstance(doc, dict):
        raise ValueError(f"{what} is not an object")
    return doc


def unknown_keys(doc: dict, known: tuple[str, ...]) -> dict:
    """The keys of ``doc`` not in ``known`` (an object's ``extra``)."""
    return {k: v for k, v in doc.items() if k not in known}


def picked(doc: dict, names: tuple[str, ...]) -> dict:
    """The values of ``names`` in ``doc``, None where missing (fields read as they are)."""
    return {k: doc.get(k) for k in names}


def present_keys(**fields: Any) -> dict:
    """The optional keys of a JSON form, in order: each whose value is not None."""
    return {k: v for k, v in fields.items() if v is not None}


def fields_json(part: Any, optional: tuple[str, ...] = ()) -> dict:
    """The JSON form of a part whose fields are its keys: each field named in its ``KEYS``, in
    order, as it is (one in ``optional`` only where it is not None); then its ``extra``."""
    known = {k: getattr(part, k) for k in part.KEYS}
    return {**{k: v for k, v in known.items() if k not in optional or v is not None}, **part.extra}


@dataclass(frozen=True)
class PhaseStats(JsonView):
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

    def to_json(self) -> dict:
        return fields_json(self, optional=("hdr",))

    @classmethod
    def from_json(cls, doc: Any) -> PhaseStats:
        """A row; one written before ``p99_basis`` existed gets it from its counts."""
        d = json_object(doc, "a probe row")
        count, errors = int(d.get("count", 0)), int(d.get("errors", 0))
        basis = d["p99_basis"] if "p99_basis" in d else p99_basis(count - errors)
        return cls(
            count=count,
            errors=errors,
            **picked(d, ("p50_us", "p99_us", "max_us", "hdr")),
            p99_basis=basis,
            host_stall_corrected=int(d.get("host_stall_corrected", 0)),
            extra=unknown_keys(d, cls.KEYS),
        )


ProbeTable = dict[str, dict[str, PhaseStats]]  # probe -> phase -> row


def probes_from_json(doc: Any) -> ProbeTable:
    return {
        str(probe): {
            str(phase): PhaseStats.from_json(row)
            for phase, row in json_object(phases, f"probe {probe}").items()
        }
        for probe, phases in json_object({} if doc is None else doc, "probes").items()
    }


def probes_to_json(table: ProbeTable) -> dict:
    return {
        probe: {phase: row.to_json() for phase, row in phases.items()}
        for probe, phases in table.items()
    }


@dataclass(frozen=True)
class Violation(JsonView):
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

    FIGURES = ("observed_us", "limit_us", "observed", "limit", "basis")  # read as they are
    KEYS = ("probe", "phase", "stat", *FIGURES)

    def to_json(self) -> dict:
        return fields_json(self, optional=("observed", "limit", "basis"))

    @classmethod
    def from_json(cls, doc: Any) -> Violation:
        d = json_object(doc, "a violation")
        return cls(
            probe=str(d.get("probe")),
            phase=str(d.get("phase")),
            stat=str(d.get("stat")),
            **picked(d, cls.FIGURES),
            extra=unknown_keys(d, cls.KEYS),
        )


@dataclass(frozen=True)
class DropResult(JsonView):
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
            **present_keys(
                no_evidence=self.no_evidence or None,
                detail=self.detail or None,
                after=list(self.after) or None,
                scheduled_s=self.scheduled_s,
            ),
            **self.extra,
        }

    @classmethod
    def from_json(cls, doc: Any) -> DropResult:
        d = json_object(doc, "a drop")
        return cls(
            **picked(d, ("mode", "at_s", "evidence", "evidence_at_s", "no_evidence", "detail")),
            after=tuple(d.get("after") or ()),
            scheduled_s=d.get("scheduled_s"),
            extra=unknown_keys(d, cls.KEYS),
        )


@dataclass(frozen=True)
class HostStalls(JsonView):
    """Machine stalls the canary saw: how many, and the longest (µs)."""

    count: int = 0
    worst_us: int = 0
    extra: dict = field(default_factory=dict)

    KEYS = ("count", "worst_us")

    def to_json(self) -> dict:
        return fields_json(self)

    @classmethod
    def from_json(cls, doc: Any) -> HostStalls:
        d = json_object(doc, "host_stalls")
        return cls(
            count=d.get("count", 0), worst_us=d.get("worst_us", 0), extra=unknown_keys(d, cls.KEYS)
        )


@dataclass(frozen=True)
class Scratch(JsonView):
    """Scratch files the run's clients left on the share: removed, and left behind."""

    removed: tuple[str, ...] = ()
    left: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"removed": list(self.removed), "left": list(self.left)}

    @classmethod
    def from_json(cls, doc: Any) -> Scratch:
        d = json_object(doc, "scratch")
        return cls(removed=tuple(d.get("removed") or ()), left=tuple(d.get("left") or ()))
