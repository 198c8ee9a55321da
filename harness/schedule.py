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
    # 6 s in all: the shipped suite in about a minute (a scenario whose effect comes late sets
    # a longer fault phase in its file: blackhole 6 s, stall and pause 4 s)
    warmup_s: float = 0.5
    baseline_s: float = 1.5
    fault_s: float = 2.5
    recovery_s: float = 1.5

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


def fixed_rate_times(rate_hz: float, start_s: float, end_s: float, offset_s: float = 0.0) -> list[float]:
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


def merged_schedule(rates_hz: dict[str, float], end_s: float, stagger: float = 0.0) -> list[tuple[float, str, int]]:
    """One client's probes merged in time order: (intended_s, probe, seq).

    ``stagger`` in [0, 1) shifts every stream by that fraction of its period, so several
    clients with the same rates do not all fire at the same instant.
    """
    events = []
    for probe, rate_hz in rates_hz.items():
        if rate_hz <= 0:
            continue
        offset_s = (stagger % 1.0) / rate_hz
        events += [(t, probe, seq) for seq, t in enumerate(fixed_rate_times(rate_hz, 0.0, end_s, offset_s))]
    events.sort()
    return events



def spread_staggers(rates_hz: list[float], horizon_s: float = 1.0, step_s: float = 0.00025) -> list[float]:
    """A stagger (merged_schedule's fraction of a period) for each of several one-stream
    processes, so that their sends are as far apart as can be: streams are placed densest
    first, each at the offset (a multiple of ``step_s`` within its period) whose sends come
    farthest from every send placed before, over ``horizon_s`` (a common multiple of every
    integer rate's period: exact for integer rates). With the shipped probes (nbstat 20 Hz,
    nbt_session 10 Hz, three clients' smb_echo 10 Hz, smb_rw and smb_open 4 Hz) no two sends
    come within 6 ms of each other and the longest gap between sends is 25 ms.

    Why: each prober waits actively for a short while before and after its send
    (probes.timing) at real-time priority; two or three of them firing together held both
    cores of the 2-core lab and starved the server they were timing (seen: a client's echo,
    write/read and open sent at the same instant came back 10-12 ms late, with no machine
    stall).
    """
    placed: list[float] = []  # send times mod horizon of the streams placed so far, sorted
    staggers = [0.0] * len(rates_hz)
    for k in sorted(range(len(rates_hz)), key=lambda i: -rates_hz[i]):
        rate = rates_hz[k]
        if rate <= 0:
            continue
        period_s = 1.0 / rate
        sends = max(1, int(round(horizon_s * rate)))
        best, best_gap = 0.0, -1.0
        step = max(step_s, period_s / 400)  # at most 400 candidates a stream (~0.1 s for 100 streams)
        for j in range(max(1, int(period_s / step))):
            offset = j * step
            gap = min(_nearest(placed, (offset + n * period_s) % horizon_s, horizon_s)
                      for n in range(sends))
            if gap > best_gap + 1e-12:
                best, best_gap = offset, gap
        for n in range(sends):
            bisect.insort(placed, (best + n * period_s) % horizon_s)
        staggers[k] = (best * rate) % 1.0
    return staggers


def _nearest(placed: list[float], t: float, horizon_s: float) -> float:
    """Circular distance from t to the nearest of the sorted times (horizon_s if none)."""
    if not placed:
        return horizon_s
    i = bisect.bisect_left(placed, t)
    a, b = placed[i - 1], placed[i % len(placed)]  # neighbours, wrapping around
    return min((t - a) % horizon_s, (b - t) % horizon_s)
