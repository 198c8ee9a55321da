"""Correlated excursions: a server stall holds every operation in flight at once. Pure.

A judged operation (fault or recovery phase, healthy role, completed ok) is an *excursion*
when its latency (after the machine-stall correction: time the canary saw the whole machine
stall is taken off first) exceeds the baseline maximum of its own probe (same correction)
plus its probe's ``correlated_margin_ms``. A phase fails when excursions from at least
``correlated_streams`` distinct client processes were in flight at one common instant
(their [sent, completed] intervals overlap; for intervals, pairwise overlap and a common
instant are the same thing).

Why this separates a server freeze from noise: a freeze delays every operation in flight
together, whatever process sent it, while a late wake-up or a preempted prober delays that
one process (each probe stream runs in a process of its own). A lone excursion, however
large, is left to the p99/max bounds.

A group in flight while a canary woke late (``late_windows``: every late wake-up the
canaries recorded, 5 ms and more, the normal-priority one included) is *excused*, not
counted: the machine was then making ordinary processes wait, and the server's processes are
ordinary processes. Without the excuse, a healthy server on a loaded shared machine fails
this check in most runs.

Operations are the ``ops.Op`` records of the history; this module reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from harness.schedule import JUDGED_PHASES


@dataclass(frozen=True)
class Excursion:
    process: str
    probe: str
    phase: str
    sent_s: float
    end_s: float
    latency_us: float  # after the machine-stall correction
    threshold_us: float  # baseline max of its probe + margin


def baseline_max_us(ops: Iterable, corrected_us: Callable) -> dict[str, float]:
    """The largest corrected latency of each probe's successful baseline operations."""
    out: dict[str, float] = {}
    for op in ops:
        if op.phase == "baseline" and op.outcome == "ok" and op.latency_us is not None:
            out[op.probe] = max(out.get(op.probe, 0.0), corrected_us(op))
    return out


def excursions(
    ops: Iterable, margins_ms: dict[str, float], corrected_us: Callable
) -> list[Excursion]:
    """Judged successful operations above their probe's baseline max + margin (probes with
    a margin <= 0 or no baseline are not judged), in order of their send."""
    ops = list(ops)
    base = baseline_max_us(ops, corrected_us)
    out = []
    for op in ops:
        margin_ms = margins_ms.get(op.probe, 0.0)
        if (
            margin_ms <= 0
            or op.phase not in JUDGED_PHASES
            or op.outcome != "ok"
            or op.latency_us is None
            or op.probe not in base
        ):
            continue
        threshold_us = base[op.probe] + margin_ms * 1000.0
        latency_us = corrected_us(op)
        if latency_us > threshold_us:
            sent_s = op.sent_s if op.sent_s is not None else op.intended_s
            out.append(
                Excursion(
                    op.process,
                    op.probe,
                    op.phase,
                    sent_s,
                    op.intended_s + op.latency_us / 1e6,
                    latency_us,
                    threshold_us,
                )
            )
    out.sort(key=lambda e: (e.sent_s, e.end_s))
    return out


def correlated_groups(excs: list[Excursion], min_streams: int) -> list[list[Excursion]]:
    """Maximal sets of excursions in flight together that come from >= min_streams distinct
    processes; each excursion is reported in at most one group (the first it completes)."""
    groups: list[list[Excursion]] = []
    used: set[int] = set()
    for i, e in enumerate(excs):  # e: the latest sent of the group, its instant is e.sent_s
        active = [j for j in range(i + 1) if j not in used and excs[j].end_s >= e.sent_s]
        if len({excs[j].process for j in active}) < min_streams:
            continue
        # extend with later sends that still overlap every member (a common instant remains)
        until = min(excs[j].end_s for j in active)
        for j in range(i + 1, len(excs)):
            if excs[j].sent_s > until:
                break
            active.append(j)
            until = min(until, excs[j].end_s)
        groups.append([excs[j] for j in active])
        used.update(active)
    return groups


def check_correlated(
    excs: list[Excursion], min_streams: int, late_windows: Sequence[tuple[float, float]] = ()
) -> list[dict]:
    """One violation per judged phase that has correlated groups: ``stat`` "correlated",
    ``observed`` the number of groups, ``limit`` 0, ``observed_us`` the largest excursion
    in them and ``limit_us`` its threshold; ``probe`` that excursion's probe, ``streams``
    the processes and ``at_s`` the first group's common instant, ``excused`` the groups of
    the phase left out because a canary woke late while they were in flight."""
    if min_streams < 1:
        return []
    by_phase: dict[str, list[list[Excursion]]] = {}
    excused: dict[str, int] = {}
    for group in correlated_groups(excs, min_streams):
        phase = group[0].phase
        start, end = min(e.sent_s for e in group), max(e.end_s for e in group)
        if any(a <= end and b >= start for a, b in late_windows):
            excused[phase] = excused.get(phase, 0) + 1
        else:
            by_phase.setdefault(phase, []).append(group)
    out = []
    for phase in JUDGED_PHASES:
        groups = by_phase.get(phase)
        if not groups:
            continue
        worst = max((e for g in groups for e in g), key=lambda e: e.latency_us - e.threshold_us)
        first = groups[0]
        out.append(
            {
                "probe": worst.probe,
                "phase": phase,
                "stat": "correlated",
                "observed_us": round(worst.latency_us, 1),
                "limit_us": int(worst.threshold_us),
                "observed": len(groups),
                "limit": 0,
                "streams": sorted({e.process for e in first}),
                "at_s": round(max(e.sent_s for e in first), 6),
                "excused": excused.get(phase, 0),
            }
        )
    return out
