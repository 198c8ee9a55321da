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


def host_stalls(events: Iterable[dict], threshold_us: float) -> list[tuple[float, float]]:
    """Windows (start_s, end_s) in which the canary woke more than threshold_us late."""
    return [(e["t_s"] - e["late_us"] / 1e6, e["t_s"]) for e in events
            if e.get("type") == "canary" and e.get("late_us", 0) > threshold_us]


def _overlaps(op: Op, windows: list[tuple[float, float]]) -> bool:
    end = op.intended_s + (op.latency_us or 0) / 1e6
    return any(start < end and op.intended_s < stop for start, stop in windows)


def probe_table(ops: Iterable[Op], roles: tuple[str, ...] = ("healthy",),
                host_stall_windows: list[tuple[float, float]] | None = None) -> dict[str, dict[str, dict]]:
    """{probe: {phase: {count, errors, p50_us, p99_us, max_us}}} over ops of the given roles.

    Successful operations that overlap a host stall window are left out of the latency
    statistics and counted in ``host_stall_excluded``; errors are never left out.
    """
    lat: dict[tuple[str, str], list[float]] = defaultdict(list)
    errs: dict[tuple[str, str], int] = defaultdict(int)
    excluded: dict[tuple[str, str], int] = defaultdict(int)
    windows = host_stall_windows or []
    for op in ops:
        if op.role not in roles:
            continue
        key = (op.probe, op.phase)
        if op.outcome == "ok" and op.latency_us is not None:
            if windows and _overlaps(op, windows):
                excluded[key] += 1
                lat.setdefault(key, [])
                continue
            lat[key].append(op.latency_us)
        else:
            errs[key] += 1
            lat.setdefault(key, [])
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    for (probe, phase), values in sorted(lat.items()):
        table[probe][phase] = summarize_us(values, errs[(probe, phase)])
        if excluded[(probe, phase)]:
            table[probe][phase]["host_stall_excluded"] = excluded[(probe, phase)]
    return dict(table)
