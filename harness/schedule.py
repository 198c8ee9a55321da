"""Phases and open-loop fixed-rate schedules. Pure: times in seconds relative to the run's t0.

Latency is measured from the *intended* send time, so a stalled server cannot hide by
delaying the next probe (coordinated omission): a probe that starts late carries its delay.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from harness.validate import number

PHASES = ("warmup", "baseline", "fault", "recovery")
MAX_PHASE_S = 3600  # one phase: an hour at most (a typo like 1e12 must not run forever)
MAX_TOTAL_S = 2 * 3600  # all four phases together
JUDGED_PHASES = ("fault", "recovery")


@dataclass(frozen=True)
class Phases:
    # 5 s in all: the nine scenarios of the first suite in under a minute (a scenario whose
    # effect comes late sets a longer fault phase in its file: blackhole 6 s, stall and pause
    # 4 s). What the phases must hold: the fault and recovery phases together (3 s) the
    # replica's 1 s freeze from the drop and, for a half frame, its 1 s frame timeout before
    # it, with 1 s to spare; recovery (1 s) 12 samples of the slowest probes (smb_rw and
    # smb_open, 4 Hz on each of 3 clients). The baseline keeps 1.5 s: its maximum and the rate
    # of its excursions are what the judged phases are held to.
    warmup_s: float = 0.5  # sessions settle; not judged
    baseline_s: float = 1.5  # what the judged phases' bounds scale with (must be > 0)
    fault_s: float = 2.0  # the drop starts with it; judged
    recovery_s: float = 1.0  # after the fault phase; judged

    def __post_init__(self) -> None:
        for name in ("warmup_s", "baseline_s", "fault_s", "recovery_s"):
            number(getattr(self, name), f"phase {name}", 0, MAX_PHASE_S)
        if self.baseline_s <= 0:
            raise ValueError("phase baseline_s must be > 0 (bounds are relative to the baseline)")
        if self.total_s > MAX_TOTAL_S:
            raise ValueError(f"the phases add up to {self.total_s:g} s; at most {MAX_TOTAL_S} s")

    def spans(self) -> list[tuple[str, float, float]]:
        """(phase, start_s, end_s) for each phase, back to back from 0."""
        out, start = [], 0.0
        for name in PHASES:
            length = getattr(self, f"{name}_s")
            out.append((name, start, start + length))
            start += length
        return out

    @property
    def total_s(self) -> float:
        return self.warmup_s + self.baseline_s + self.fault_s + self.recovery_s

    @property
    def fault_start_s(self) -> float:
        return self.warmup_s + self.baseline_s

    def phase_at(self, t_s: float) -> str:
        for name, start, end in self.spans():
            if start <= t_s < end:
                return name
        return "recovery" if t_s >= self.total_s else "warmup"


def fixed_rate_times(
    rate_hz: float, start_s: float, end_s: float, offset_s: float = 0.0
) -> list[float]:
    """Intended send times k/rate + offset in [start_s, end_s)."""
    if rate_hz <= 0:
        return []
    period_s = 1.0 / rate_hz
    first = math.ceil((start_s - offset_s) / period_s - 1e-9)
    out = []
    k = first
    while (t := offset_s + k * period_s) < end_s - 1e-9:
        out.append(t)
        k += 1
    return out


def merged_schedule(
    rates_hz: dict[str, float], end_s: float, stagger: float = 0.0
) -> list[tuple[float, str, int]]:
    """One client's probes merged in time order: (intended_s, probe, seq).

    ``stagger`` in [0, 1) shifts every stream by that fraction of its period, so several
    clients with the same rates do not all fire at the same instant.
    """
    events = []
    for probe, rate_hz in rates_hz.items():
        if rate_hz <= 0:
            continue
        offset_s = (stagger % 1.0) / rate_hz
        events += [
            (t, probe, seq) for seq, t in enumerate(fixed_rate_times(rate_hz, 0.0, end_s, offset_s))
        ]
    events.sort()
    return events


# Beyond this many streams their sends cannot all be milliseconds apart, and the search
# (every grid offset of every stream) would take seconds: streams are then spread by index.
MAX_SPREAD_STREAMS = 48


def spread_staggers(
    rates_hz: list[float],
    horizon_s: float = 1.0,
    grid_s: float = 0.0005,
    fixed: tuple[tuple[float, float], ...] = (),
    groups: list | None = None,
    group_gap_s: float = 0.0,
) -> list[float]:
    """A stagger (fraction of its period, for merged_schedule) for each fixed-rate stream,
    chosen so that the streams' send times lie as far apart as they can: streams are placed
    one at a time, fastest first, each at the offset (on a ``grid_s`` grid within its period)
    whose send times over ``horizon_s`` (wrapping around) are farthest from those placed
    before. ``fixed``: (rate_hz, stagger) streams already placed elsewhere. A rate of 0 gets 0.
    ``groups`` (one key per stream, None for none): streams of one group run one after
    another (the threads of one process, one operation in flight each, but sharing the
    interpreter): where it can, a stream is placed at least ``group_gap_s`` from the send
    times of its group placed before, then as far from all the others as it can be.

    Why: processes that wait actively before a send, or for an answer, on a machine with
    fewer cores than such processes at one instant, send late or keep the server off the CPU
    (docs/pages/scenarios.md "What is timed, and when it is sent")."""
    if len(rates_hz) > MAX_SPREAD_STREAMS:  # a crowd: each stream a fraction of its own
        return [i / len(rates_hz) for i in range(len(rates_hz))]
    placed: list[float] = []

    def times(rate_hz: float, offset_s: float) -> list[float]:
        period_s = 1.0 / rate_hz
        return [
            offset_s + k * period_s
            for k in range(max(1, round(horizon_s * rate_hz)))
            if offset_s + k * period_s < horizon_s
        ]

    def gap(t: float) -> float:
        i = bisect.bisect_left(placed, t)
        near = [placed[i % len(placed)], placed[i - 1]]
        return min(min(abs(t - p), horizon_s - abs(t - p)) for p in near)

    for rate_hz, stagger in fixed:
        if rate_hz > 0:
            placed.extend(times(rate_hz, (stagger % 1.0) / rate_hz))
    placed.sort()
    out = [0.0] * len(rates_hz)
    by_group: dict = {}  # group -> its send times placed so far

    def group_gap(group, ts: list[float]) -> float:
        mine = by_group.get(group, [])
        if group is None or not mine:
            return horizon_s
        return min(min(abs(t - p), horizon_s - abs(t - p)) for t in ts for p in mine)

    for index in sorted(range(len(rates_hz)), key=lambda i: -rates_hz[i]):
        rate_hz = rates_hz[index]
        if rate_hz <= 0:
            continue
        group = groups[index] if groups else None
        period_s = 1.0 / rate_hz
        best_s, best_key = 0.0, (False, -1.0)
        if placed:
            for k in range(max(1, int(period_s / grid_s))):
                offset_s = k * grid_s
                ts = times(rate_hz, offset_s)
                key = (group_gap(group, ts) >= group_gap_s - 1e-12, min(gap(t) for t in ts))
                if key[0] > best_key[0] or (key[0] == best_key[0] and key[1] > best_key[1] + 1e-12):
                    best_s, best_key = offset_s, key
        out[index] = best_s / period_s
        placed.extend(times(rate_hz, best_s))
        placed.sort()
        if group is not None:
            by_group.setdefault(group, []).extend(times(rate_hz, best_s))
    return out
