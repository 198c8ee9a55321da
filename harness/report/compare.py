"""The text of ``compare``: base -> new per probe x phase row, the effect and the verdict
(the statistics are harness.checkers.compare's). Pure."""

from __future__ import annotations

from harness.checkers.compare import REGRESSED


def _ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _p99(side: dict) -> str:
    return "max*" if side.get("p99_basis") == "max" else _ms(side.get("p99_us"))


def _s(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def lead_lines(result: dict) -> list[str]:
    """What leads the comparison: what moved (regressed, improved, then significant shifts
    under the thresholds), each scenario's verdict side by side, each holding's time to
    access side by side; then the table of every row follows."""
    out = []
    moved_rows = result.get("moved") or []
    if moved_rows:
        out.append(
            f"moved ({len(moved_rows)}: regressed and improved first, then significant "
            f"shifts under the thresholds):"
        )
    for m in moved_rows:
        kind = (
            m["verdict"].upper()
            if m["verdict"] == REGRESSED
            else m["verdict"]
            if not m["significant_only"]
            else "significant, under the thresholds"
        )
        ratio = m["ratio"] if m["direction"] == "slower" else 1 / m["ratio"]
        out.append(
            f"   {m['scenario']} {m['probe']} {m['phase']}: {ratio:.2f}x {m['direction']} "
            f"at p{m['quantile'] * 100:.0f} (p {m['p_value']:.1e})  {kind}"
        )
    if not moved_rows and result.get("rows"):
        out.append("moved: nothing (no row's distributions parted significantly)")
    verdicts = result.get("verdicts") or []
    if verdicts:
        changed = [v for v in verdicts if v["base"] != v["new"]]
        out.append(f"verdicts (base > new; {len(changed)} changed):")
        for v in sorted(verdicts, key=lambda v: v["base"] == v["new"]):
            mark = "  CHANGED" if v["base"] != v["new"] else ""
            out.append(f"   {v['scenario']:<28} {v['base'] or '-':>5} > {v['new'] or '-'}{mark}")
    access = result.get("access") or []
    if access:
        out.append("time to access (s after the drop; never: not within the run):")
        for a in access:
            b = "never" if a["base_never"] else _s(a["base_s"])
            n = "never" if a["new_never"] else _s(a["new_s"])
            bound = "" if a.get("max_wait_s") is None else f" (max_wait_s {a['max_wait_s']:g})"
            out.append(f"   {a['scenario']:<28} holds {a['holds'] or '?'}: {b:>7} > {n:<7}{bound}")
    return out


def render_compare(result: dict, base_label: str, new_label: str) -> str:
    """The comparison as a text table: base -> new per row, the effect and the verdict."""
    lines = [
        f"compare  base: {base_label}",
        f"         new:  {new_label}",
        *lead_lines(result),
        (
            f"   {'scenario':<10} {'probe':<11} {'phase':<9} {'count':>9} {'p50 ms':>15} "
            f"{'p99 ms':>17} {'max ms':>17} {'ratio':>7} {'at':>5} {'p':>8}  verdict"
        ),
    ]
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
            f"{ratio:>7} {at:>5} {p:>8}  {mark}"
        )
    s = result["summary"]
    th = result["thresholds"]
    lines.append(
        f"   {s['regressed']} regressed, {s['improved']} improved, {s['unchanged']} unchanged "
        f"(one-sided KS p < {th['alpha']:g} over the latencies where new is at least "
        f"{th['min_ratio']:g}x and {th['min_delta_us'] / 1000:g} ms slower or faster)"
    )
    if any(
        r["base"].get("p99_basis") == "max" or r["new"].get("p99_basis") == "max"
        for r in result["rows"]
    ):
        lines.append(
            "   max*: fewer than 100 samples, so no p99 (the verdict uses the whole distribution)"
        )
    for name, st in (result.get("host_stalls") or {}).items():
        if any(x and x.get("count") for x in st.values()):
            b, n = st["base"] or {}, st["new"] or {}
            lines.append(
                f"   machine stalls in {name}: base {b.get('count', 0)} (worst "
                f"{_ms(b.get('worst_us'))} ms), new {n.get('count', 0)} (worst "
                f"{_ms(n.get('worst_us'))} ms): the machine stalled, read its rows with care"
            )
    for label, names in (
        ("only in base", result["only_base"]),
        ("only in new", result["only_new"]),
    ):
        if names:
            lines.append(f"   {label}: {', '.join(names)}")
    return "\n".join(lines)
