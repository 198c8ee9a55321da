"""Excursions: judged samples beyond what the same probe's baseline ever did. Pure.

A successful judged sample (after the machine-stall correction: a sample the canary saw the
machine stall under has the stalled time taken off first) is an *excursion* when it exceeds
the baseline's own maximum plus ``excursion_margin_ms``. The baseline's own rate of
excursions that size is the share k / n_base of its samples above its median plus the margin;
a judged phase of n samples is expected to have n x k / n_base (rounded down) of them. A phase
fails when its excursions exceed that expectation plus ``max_excursions``.

Unlike the p99/max floors (100 ms / 250 ms) this rule follows the baseline's scale: on a
sub-millisecond baseline a 20 ms freeze is many margins away. It works from the rows'
histograms (``hdr``), so it needs nothing but the probe table.
"""

from __future__ import annotations

from harness.checkers import histograms


def count_above_us(encoded_hdr: str, threshold_us: float) -> int:
    """Samples of the encoded histogram above threshold_us (bucket resolution: 0.1%)."""
    return sum(
        n for value, n in histograms.buckets(histograms.decode(encoded_hdr)) if value > threshold_us
    )


def allowed_excursions(
    judged_count: int, baseline_count: int, baseline_excursions: int, max_excursions: int
) -> int:
    """Excursions a judged phase may have: what the baseline's rate predicts, plus the slack."""
    if baseline_count <= 0:
        return max_excursions
    return judged_count * baseline_excursions // baseline_count + max_excursions


def check_excursions(
    probe: str, phase: str, base: dict, row: dict, margin_ms: float, max_excursions: int
) -> dict | None:
    """A violation dict when the judged row has too many excursions, else None."""
    if margin_ms <= 0 or not base.get("hdr") or not row.get("hdr") or base.get("max_us") is None:
        return None
    threshold_us = base["max_us"] + margin_ms * 1000.0
    if row.get("max_us") is None or row["max_us"] <= threshold_us:
        return None
    n_base = base["count"] - base.get("errors", 0)
    n_row = row["count"] - row.get("errors", 0)
    above = count_above_us(row["hdr"], threshold_us)
    base_above = 0
    if base.get("p50_us") is not None:
        base_above = count_above_us(base["hdr"], base["p50_us"] + margin_ms * 1000.0)
    allowed = allowed_excursions(n_row, n_base, base_above, max_excursions)
    if above <= allowed:
        return None
    return {
        "probe": probe,
        "phase": phase,
        "stat": "excursions",
        "observed_us": row["max_us"],
        "limit_us": int(threshold_us),
        "observed": above,
        "limit": allowed,
    }
