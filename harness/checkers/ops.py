"""Pair invocations with completions; summarize per probe and phase. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from harness.history import COMPLETIONS, INVOKE
from harness.stats import summarize_us

STALL = "stall"  # invoked, never completed


@dataclass(frozen=True)
class Op:
    process: str
    role: str
    probe: str
    seq: int
    phase: str
    intended_s: float
    outcome: str  # ok | fail | info | stall
    latency_us: float | None
    error: str | None = None


def operations(events: Iterable[dict]) -> list[Op]:
    """Every probe operation in the history, completions paired to invocations."""
    invokes: dict[tuple, dict] = {}
    done: dict[tuple, dict] = {}
    for e in events:
        if "probe" not in e or "seq" not in e:
            continue
        key = (e.get("process"), e["probe"], e["seq"])
        if e["type"] == INVOKE:
            invokes[key] = e
        elif e["type"] in COMPLETIONS:
            done[key] = e
    ops = []
    for key, inv in invokes.items():
        comp = done.get(key)
        ops.append(Op(
            process=inv.get("process", "?"), role=inv.get("role", "healthy"), probe=inv["probe"],
            seq=inv["seq"], phase=inv.get("phase", "?"), intended_s=inv.get("intended_s", inv["t_s"]),
            outcome=comp["type"] if comp else STALL,
            latency_us=comp.get("latency_us") if comp else None,
            error=(comp.get("error") if comp else "no completion recorded (stalled)")))
    ops.sort(key=lambda o: o.intended_s)
    return ops


def probe_table(ops: Iterable[Op], roles: tuple[str, ...] = ("healthy",)) -> dict[str, dict[str, dict]]:
    """{probe: {phase: {count, errors, p50_us, p99_us, max_us}}} over ops of the given roles."""
    lat: dict[tuple[str, str], list[float]] = defaultdict(list)
    errs: dict[tuple[str, str], int] = defaultdict(int)
    for op in ops:
        if op.role not in roles:
            continue
        key = (op.probe, op.phase)
        if op.outcome == "ok" and op.latency_us is not None:
            lat[key].append(op.latency_us)
        else:
            errs[key] += 1
            lat.setdefault(key, [])
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    for (probe, phase), values in sorted(lat.items()):
        table[probe][phase] = summarize_us(values, errs[(probe, phase)])
    return dict(table)
