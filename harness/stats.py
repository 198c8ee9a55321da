"""Latency statistics. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence

# A nearest-rank p99 of n < 100 values is the largest value: below this many successful
# samples a row has no p99 of its own, and says so (p99_basis "max").
MIN_SAMPLES_FOR_P99 = 100


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def p99_basis(samples: int) -> str | None:
    """What a row's ``p99_us`` really is: ``p99`` (>= 100 samples), ``max`` (fewer: the
    nearest-rank p99 is then the largest sample), or None (no samples)."""
    if samples <= 0:
        return None
    return "p99" if samples >= MIN_SAMPLES_FOR_P99 else "max"


def summarize_us(latencies_us: Sequence[float], errors: int) -> dict:
    """{count, errors, p50_us, p99_us, max_us, p99_basis} (latencies of successful operations).

    ``p99_us`` is kept for every row (the report's contract); ``p99_basis`` says whether it
    is a p99 or, with fewer than 100 successful samples, the maximum.
    """
    return {
        "count": len(latencies_us) + errors,
        "errors": errors,
        "p50_us": _round(percentile(latencies_us, 50)),
        "p99_us": _round(percentile(latencies_us, 99)),
        "max_us": _round(max(latencies_us) if latencies_us else None),
        "p99_basis": p99_basis(len(latencies_us)),
    }


def _round(v: float | None) -> int | None:
    return None if v is None else round(v)
