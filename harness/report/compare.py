"""The text of ``compare``: base -> new per probe x phase row, the effect and the verdict
(the statistics are harness.checkers.compare's). Pure."""

from __future__ import annotations


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _p99(side: dict) -> str:
    return "max*" if side.get("p99_basis") == "max" else _ms(side.get("p99_us"))


def render_compare(result: dict, base_label: str, new_label: str) -> str:
    """The comparison as a text table: base -> new per row, the effect and the verdict."""
    lines = [f"compare  base: {base_label}", f"         new:  {new_label}",
             (f"   {'scenario':<10} {'probe':<11} {'phase':<9} {'count':>9} {'p50 ms':>15} "
              f"{'p99 ms':>17} {'max ms':>17} {'ratio':>7} {'at':>5} {'p':>8}  verdict")]
    for r in result["rows"]:
        b, n = r["base"], r["new"]
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        at = "-" if r["quantile"] is None else f"p{r['quantile'] * 100:.0f}"
        p = "-" if r["p_value"] is None else f"{r['p_value']:.1e}"
        mark = {"regressed": "REGRESSED", "improved": "improved"}.get(r["verdict"], "")
        lines.append(
            f"   {r['scenario']:<10} {r['probe']:<11} {r['phase']:<9} "
            f"{b['count']:>4}>{n['count']:<4} {_ms(b['p50_us']):>7}>{_ms(n['p50_us']):<7} "
            f"{_p99(b):>8}>{_p99(n):<8} {_ms(b['max_us']):>8}>{_ms(n['max_us']):<8} "
            f"{ratio:>7} {at:>5} {p:>8}  {mark}")
    s = result["summary"]
    th = result["thresholds"]
    lines.append(f"   {s['regressed']} regressed, {s['improved']} improved, {s['unchanged']} unchanged "
                 f"(one-sided KS p < {th['alpha']:g} over the latencies where new is at least "
                 f"{th['min_ratio']:g}x and {th['min_delta_us'] / 1000:g} ms slower or faster)")
    if any(r["base"].get("p99_basis") == "max" or r["new"].get("p99_basis") == "max"
           for r in result["rows"]):
        lines.append("   max*: fewer than 100 samples, so no p99 (the verdict uses the whole distribution)")
    for name, st in (result.get("host_stalls") or {}).items():
        if any(x and x.get("count") for x in st.values()):
            b, n = st["base"] or {}, st["new"] or {}
            lines.append(f"   machine stalls in {name}: base {b.get('count', 0)} (worst "
                         f"{_ms(b.get('worst_us'))} ms), new {n.get('count', 0)} (worst "
                         f"{_ms(n.get('worst_us'))} ms): the machine stalled, read its rows with care")
    for label, names in (("only in base", result["only_base"]), ("only in new", result["only_new"])):
        if names:
            lines.append(f"   {label}: {', '.join(names)}")
    return "\n".join(lines)
