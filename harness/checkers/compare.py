"""Compare two runs' latency distributions, probe x phase, from their HdrHistograms. Pure.

The verdict of a row rests on a test over the whole distributions, not on one percentile:
a one-sided two-sample Kolmogorov-Smirnov test computed over the histograms' buckets (both
have the same bucket layout, so their CDFs are exact step functions on the same values).
KS answers "did some part of the distribution move?", which is what a stall does: a
one-second freeze delays a third of a phase's operations and leaves the median where it was.

A shift only counts where it is also large: the KS distance is taken over the latencies
where, at the quantile midway between the two CDFs, the new latency is at least
``min_ratio`` times the old one and ``min_delta_us`` more. Machine load on a shared host
moves the fast body of a distribution by a few milliseconds with high significance; that is
not a regression of the server, and must not lend its significance to noise in the tail.
Warm-up rows (connection set-up, not judged) are not compared.

Failed operations (errors, timeouts, stalls) count as the slowest possible latency (60 s):
a build whose probes time out got slower, whatever its successful samples say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.checkers import histograms
from harness.findings import PhaseStats
from harness.results import Report
from harness.schedule import PHASES

Buckets = list[tuple[int, int]]  # (value_us, count), ascending values

REGRESSED, IMPROVED, UNCHANGED = "regressed", "improved", "unchanged"
COMPARED_PHASES = tuple(p for p in PHASES if p != "warmup")


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.01  # significance of the one-sided KS test, per row
    min_ratio: float = 2.0  # new/old latency at the quantile where the CDFs part
    min_delta_us: float = 25_000.0  # and at least this much slower (or faster)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_ratio < 1:
            raise ValueError(f"min_ratio must be >= 1, got {self.min_ratio}")
        if self.min_delta_us < 0:
            raise ValueError(f"min_delta_us must be >= 0, got {self.min_delta_us}")


def buckets_of(encoded_hdr: str | None, errors: int = 0) -> Buckets:
    """The distribution of a probe row: its histogram's buckets, plus ``errors`` samples at
    the top of the range (a failed operation is the slowest outcome)."""
    counts: dict[int, int] = {}
    if encoded_hdr:
        counts.update(histograms.buckets(histograms.decode(encoded_hdr)))
    if errors:
        counts[histograms.HIGHEST_US] = counts.get(histograms.HIGHEST_US, 0) + errors
    return sorted(counts.items())


def total(b: Buckets) -> int:
    return sum(c for _, c in b)


def quantile(b: Buckets, q: float) -> int | None:
    """The smallest value whose cumulative share reaches q (nearest rank); None if empty."""
    n = total(b)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n - 1e-9))
    cum = 0
    for value, count in b:
        cum += count
        if cum >= rank:
            return value
    return b[-1][0]


def _cdf_steps(base: Buckets, new: Buckets) -> list[tuple[int, float, float]]:
    """(value, F_base(value), F_new(value)) at every value either distribution holds."""
    nb, nn = total(base), total(new)
    values = sorted({v for v, _ in base} | {v for v, _ in new})
    cb = dict(base)
    cn = dict(new)
    out = []
    sb = sn = 0
    for v in values:
        sb += cb.get(v, 0)
        sn += cn.get(v, 0)
        out.append((v, sb / nb, sn / nn))
    return out


def ks_one_sided(base: Buckets, new: Buckets) -> dict:
    """One-sided KS statistics. ``slower``: D+ = max(F_base - F_new) (new has more mass at
    high latencies), ``faster``: D- = max(F_new - F_base); each with the value where it is
    reached, the CDFs there and its asymptotic p-value exp(-2 n_e D^2), n_e = n m/(n+m)."""
    return {side: _sup(base, new, side, None) for side in ("slower", "faster")}


def p_value(d: float, n_base: int, n_new: int) -> float:
    """Asymptotic one-sided two-sample KS p-value (Smirnov): exp(-2 n_e D^2)."""
    if d <= 0:
        return 1.0
    n_e = n_base * n_new / (n_base + n_new)
    return min(1.0, math.exp(-2.0 * n_e * d * d))


def effect_at(base: Buckets, new: Buckets, f_base: float, f_new: float) -> dict:
    """The shift where the CDFs are f_base and f_new: both distributions' values at the
    quantile midway between them, their ratio (new/base) and difference (new - base)."""
    q = (f_base + f_new) / 2.0
    qb, qn = quantile(base, q), quantile(new, q)
    return {
        "quantile": q,
        "base_at_us": qb,
        "new_at_us": qn,
        "ratio": qn / qb if qb and qn else None,
        "delta_us": (qn or 0) - (qb or 0),
    }


def _big(effect: dict, side: str, th: Thresholds | None) -> bool:
    if th is None:
        return True
    ratio, delta = effect["ratio"], effect["delta_us"]
    if ratio is None:
        return False
    if side == "slower":
        return ratio >= th.min_ratio and delta >= th.min_delta_us
    return 1.0 / ratio >= th.min_ratio and -delta >= th.min_delta_us


def _sup(base: Buckets, new: Buckets, side: str, th: Thresholds | None) -> dict:
    """The largest one-sided CDF distance (``slower``: F_base - F_new, ``faster``: the other
    way), over the values where the shift is big enough (every value when ``th`` is None)."""
    nb, nn = total(base), total(new)
    if nb == 0 or nn == 0:
        raise ValueError("a distribution is empty")
    best: dict[str, Any] = {"d": 0.0, "at_us": None, "f_base": 0.0, "f_new": 0.0}
    for v, fb, fn in _cdf_steps(base, new):
        d = fb - fn if side == "slower" else fn - fb
        if d > best["d"] and _big(effect_at(base, new, fb, fn), side, th):
            best = {"d": d, "at_us": v, "f_base": fb, "f_new": fn}
    return {**best, "p_value": p_value(best["d"], nb, nn)}


def compare_rows(base: Buckets, new: Buckets, th: Thresholds = Thresholds()) -> dict:
    """{verdict, d, p_value, ratio, quantile, base_at_us, new_at_us} for two distributions.

    The KS statistic is taken over the latencies x where the shift is big: at the quantile
    midway between F_base(x) and F_new(x), new is at least min_ratio times and min_delta_us
    slower (a shift in the fast body of the distribution, e.g. machine load, does not lend
    its significance to noise in the tail). ``regressed`` when that statistic gives p <
    alpha; ``improved`` likewise the other way; else ``unchanged``. Restricting the supremum
    only makes D smaller, so the KS p-value stays valid (conservative)."""
    if total(base) == 0 or total(new) == 0:
        return {
            "verdict": UNCHANGED,
            "d": None,
            "p_value": None,
            "ratio": None,
            "quantile": None,
            "base_at_us": None,
            "new_at_us": None,
            "note": "no samples on one side",
        }
    for side, verdict in (("slower", REGRESSED), ("faster", IMPROVED)):  # noqa: B007 used after the break
        s = _sup(base, new, side, th)
        if s["at_us"] is not None and s["p_value"] < th.alpha:
            break
    else:
        verdict = UNCHANGED  # report where the distributions part most, whatever the size
        s = max(
            (_sup(base, new, side, None) for side in ("slower", "faster")), key=lambda x: x["d"]
        )
    if s["at_us"] is None:
        return {
            "verdict": verdict,
            "d": 0.0,
            "p_value": 1.0,
            "ratio": None,
            "quantile": None,
            "base_at_us": None,
            "new_at_us": None,
        }
    e = effect_at(base, new, s["f_base"], s["f_new"])
    return {
        "verdict": verdict,
        "d": round(s["d"], 4),
        "p_value": s["p_value"],
        "ratio": None if e["ratio"] is None else round(e["ratio"], 3),
        "quantile": round(e["quantile"], 4),
        "base_at_us": e["base_at_us"],
        "new_at_us": e["new_at_us"],
    }


def _side(row: PhaseStats) -> dict:
    return {
        "count": row.count,
        "errors": row.errors,
        "p50_us": row.p50_us,
        "p99_us": row.p99_us,
        "max_us": row.max_us,
        "p99_basis": row.p99_basis,
    }


def compare_reports(base_doc: Report, new_doc: Report, th: Thresholds = Thresholds()) -> dict:
    """{rows[], summary, only_base[], only_new[]} for the scenarios both reports hold.

    ValueError when they have no scenario in common or a histogram is missing or corrupt."""
    base_sc = {s.name: s for s in base_doc.scenarios}
    new_sc = {s.name: s for s in new_doc.scenarios}
    common = [n for n in base_sc if n in new_sc]
    if not common:
        raise ValueError("the two reports have no scenario in common")
    rows = []
    for name in common:
        bp, np_ = base_sc[name].probes, new_sc[name].probes
        for probe in [p for p in bp if p in np_]:
            for phase in COMPARED_PHASES:
                b, n = bp[probe].get(phase), np_[probe].get(phase)
                if not b or not n:
                    continue
                if b.hdr is None or n.hdr is None:
                    raise ValueError(
                        f"{name}/{probe}/{phase}: no latency histogram (hdr) in the report"
                    )
                result = compare_rows(buckets_of(b.hdr, b.errors), buckets_of(n.hdr, n.errors), th)
                rows.append(
                    {
                        "scenario": name,
                        "probe": probe,
                        "phase": phase,
                        "base": _side(b),
                        "new": _side(n),
                        **result,
                    }
                )
    verdicts = [r["verdict"] for r in rows]

    def stalls_of(result) -> dict | None:
        return None if result.host_stalls is None else result.host_stalls.to_json()

    stalls = {
        name: {"base": stalls_of(base_sc[name]), "new": stalls_of(new_sc[name])} for name in common
    }
    return {
        "rows": rows,
        "host_stalls": stalls,
        "moved": moved(rows, th),
        "verdicts": verdicts_side_by_side(base_doc, new_doc),
        "access": access_side_by_side(base_doc, new_doc),
        "summary": {v: verdicts.count(v) for v in (REGRESSED, IMPROVED, UNCHANGED)},
        "only_base": [n for n in base_sc if n not in new_sc],
        "only_new": [n for n in new_sc if n not in base_sc],
        "thresholds": {
            "alpha": th.alpha,
            "min_ratio": th.min_ratio,
            "min_delta_us": th.min_delta_us,
        },
    }


def moved(rows: list[dict], th: Thresholds = Thresholds()) -> list[dict]:
    """What moved, most significant first: the regressed and improved rows, then the rows
    whose distributions parted significantly (KS p < alpha over every latency) by less than
    the thresholds (an unchanged row's p-value and ratio are those of that test). Each:
    {scenario, probe, phase, verdict, direction (slower | faster), ratio, quantile, p_value,
    significant_only}."""
    out = []
    for r in rows:
        p, ratio = r.get("p_value"), r.get("ratio")
        if p is None or ratio is None or ratio == 1:
            continue
        if r["verdict"] == UNCHANGED and p >= th.alpha:
            continue
        out.append(
            {
                "scenario": r["scenario"],
                "probe": r["probe"],
                "phase": r["phase"],
                "verdict": r["verdict"],
                "direction": "slower" if ratio > 1 else "faster",
                "ratio": ratio,
                "quantile": r["quantile"],
                "p_value": p,
                "significant_only": r["verdict"] == UNCHANGED,
            }
        )
    rank = {REGRESSED: 0, IMPROVED: 1, UNCHANGED: 2}
    return sorted(out, key=lambda m: (rank[m["verdict"]], m["p_value"]))


def verdicts_side_by_side(base_doc: Report, new_doc: Report) -> list[dict]:
    """{scenario, base, new} for every scenario of either report (None: not in that one),
    base's order first."""
    base = {s.name: s.verdict for s in base_doc.scenarios}
    new = {s.name: s.verdict for s in new_doc.scenarios}
    names = list(base) + [n for n in new if n not in base]
    return [{"scenario": n, "base": base.get(n), "new": new.get(n)} for n in names]


def access_side_by_side(base_doc: Report, new_doc: Report) -> list[dict]:
    """Each holding's time to access (harness.checkers.access), base and new: {scenario,
    holds, base_s, new_s, max_wait_s, base_never, new_never} for the scenarios where either
    report has one (a None time: never got the file within the run, or not run)."""
    out = []
    base = {s.name: s for s in base_doc.scenarios}
    new = {s.name: s for s in new_doc.scenarios}
    for name in list(base) + [n for n in new if n not in base]:
        a = [
            x.extra.get("access") if x is not None else None
            for x in (base.get(name), new.get(name))
        ]
        a = [x if isinstance(x, dict) else None for x in a]
        if a == [None, None]:
            continue
        b, n = a[0] or {}, a[1] or {}
        out.append(
            {
                "scenario": name,
                "holds": b.get("holds") or n.get("holds"),
                "base_s": b.get("time_to_access_s"),
                "new_s": n.get("time_to_access_s"),
                "max_wait_s": n.get("max_wait_s", b.get("max_wait_s")),
                "base_never": a[0] is not None and b.get("time_to_access_s") is None,
                "new_never": a[1] is not None and n.get("time_to_access_s") is None,
            }
        )
    return out
