"""Pair invocations with completions; summarize per probe and phase. Pure.

An operation belongs to the phase it was intended in, except one intended before the first
judged phase (warm-up, baseline) and still outstanding when that phase began: it belongs to
that phase (the fault touched it, and in the baseline it would raise the limits the fault is
judged by; the crowd's workers file theirs the same way, harness.crowd.recorder).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from harness.checkers import histograms
from harness.history import COMPLETIONS, INVOKE
from harness.schedule import JUDGED_PHASES
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
    sent_s: float | None = None  # when it went on the wire (histories before it: None)


def operations(events: Iterable[dict]) -> list[Op]:
    """Every probe operation in the history, completions paired to invocations."""
    invokes: dict[tuple, dict] = {}
    done: dict[tuple, dict] = {}
    judged_from: tuple[str, float] | None = None  # the first judged phase and its start (s)
    for e in events:
        if e.get("type") == "run" and e.get("phases") and judged_from is None:
            judged_from = next(
                ((name, start) for name, start, _end in e["phases"] if name in JUDGED_PHASES), None
            )
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
        phase = inv.get("phase", "?")
        if (
            judged_from is not None
            and phase not in JUDGED_PHASES
            and (comp is None or comp["t_s"] >= judged_from[1])
            and inv.get("intended_s", inv["t_s"]) < judged_from[1]
        ):
            phase = judged_from[0]  # outstanding when the first judged phase began
        ops.append(
            Op(
                process=inv.get("process", "?"),
                role=inv.get("role", "healthy"),
                probe=inv["probe"],
                seq=inv["seq"],
                phase=phase,
                intended_s=inv.get("intended_s", inv["t_s"]),
                outcome=comp["type"] if comp else STALL,
                latency_us=comp.get("latency_us") if comp else None,
                error=(comp.get("error") if comp else "no completion recorded (stalled)"),
                sent_s=comp.get("sent_s") if comp else None,
            )
        )
    ops.sort(key=lambda o: o.intended_s)
    return ops


def host_stalls(events: Iterable[dict], threshold_us: float) -> list[tuple[float, float]]:
    """Windows (start_s, end_s) in which the canary woke more than threshold_us late."""
    return [
        (e["t_s"] - e["late_us"] / 1e6, e["t_s"])
        for e in events
        if e.get("type") == "canary" and e.get("late_us", 0) > threshold_us
    ]


def host_stall_overlap_us(op: Op, windows: list[tuple[float, float]]) -> float:
    """How much of the operation's time (in µs) fell inside host stall windows."""
    start = op.intended_s
    end = start + (op.latency_us or 0) / 1e6
    overlap_s = sum(max(0.0, min(end, stop) - max(start, begin)) for begin, stop in windows)
    return min(overlap_s * 1e6, op.latency_us or 0.0)


def corrected_latency_us(op: Op, windows: list[tuple[float, float]]) -> float:
    """The operation's latency minus the part of it inside host stall windows."""
    latency_us = op.latency_us or 0.0
    return latency_us - host_stall_overlap_us(op, windows) if windows else latency_us


def probe_table(
    ops: Iterable[Op],
    roles: tuple[str, ...] = ("healthy",),
    host_stall_windows: list[tuple[float, float]] | None = None,
) -> dict[str, dict[str, dict]]:
    """{probe: {phase: {count, errors, p50_us, p99_us, max_us, host_stall_corrected, hdr}}}.

    ``hdr`` is the phase's latency distribution, an encoded HdrHistogram (see histograms).

    Only ops of the given roles count. A successful operation that overlaps a host stall
    window (the machine, not the server, stopped) has the overlapping time taken off its
    latency and is counted in ``host_stall_corrected``: a server stall that happens to
    contain a machine hiccup still shows, minus the hiccup. Errors are never excused.
    """
    lat: dict[tuple[str, str], list[float]] = defaultdict(list)
    errs: dict[tuple[str, str], int] = defaultdict(int)
    corrected: dict[tuple[str, str], int] = defaultdict(int)
    windows = host_stall_windows or []
    for op in ops:
        if op.role not in roles:
            continue
        key = (op.probe, op.phase)
        if op.outcome == "ok" and op.latency_us is not None:
            latency_us = op.latency_us
            if windows:
                overlap_us = host_stall_overlap_us(op, windows)
                if overlap_us > 0:
                    corrected[key] += 1
                    latency_us -= overlap_us
            lat[key].append(latency_us)
        else:
            errs[key] += 1
            lat.setdefault(key, [])
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    for (probe, phase), values in sorted(lat.items()):
        table[probe][phase] = {
            **summarize_us(values, errs[(probe, phase)]),
            "host_stall_corrected": corrected[(probe, phase)],
            "hdr": histograms.encode(histograms.of_latencies_us(values)),
        }
    return dict(table)
