"""Latency statistics. Pure."""

from __future__ import annotations

import math
from typing import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize_us(latencies_us: Sequence[float], errors: int) -> dict:
    """{count, errors, p50_us, p99_us, max_us} (latencies of successful operations)."""
    return {
        "count": len(latencies_us) + errors,
        "errors": errors,
        "p50_us": _round(percentile(latencies_us, 50)),
        "p99_us": _round(percentile(latencies_us, 99)),
        "max_us": _round(max(latencies_us) if latencies_us else None),
    }


def _round(v: float | None) -> int | None:
    return None if v is None else int(round(v))
