"""Phases and open-loop fixed-rate schedules. Pure: times in seconds relative to the run's t0.

Latency is measured from the *intended* send time, so a stalled server cannot hide by
delaying the next probe (coordinated omission): a probe that starts late carries its delay.
"""

from __future__ import annotations

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
