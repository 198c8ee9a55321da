"""Each drop of a run of several (``victims = N``, a [schedule]), from the history alone: when
it was planned and began, on which victim, and its own evidence or why there is none. Pure.

Their events carry the drop's ``index`` (0 first); a run of one drop has none, and this
checker then has nothing to say."""

from __future__ import annotations


def drops_summary(events: list[dict]) -> list[dict]:
    """One entry per drop, by index: index, mode, victim, scheduled_s, at_s, evidence,
    evidence_at_s, no_evidence; [] for a run of one drop."""
    drops: dict[int, dict] = {}
    for e in events:
        if e.get("type") != "drop" or e.get("index") is None:
            continue
        d = drops.setdefault(
            e["index"],
            {
                "index": e["index"],
                "mode": e.get("mode"),
                "victim": None,
                "scheduled_s": None,
                "at_s": None,
                "evidence": None,
            },
        )
        kind = e.get("event")
        if kind == "scheduled":
            d["scheduled_s"], d["victim"] = e.get("at_s"), e.get("victim")
        elif kind == "start" and d["at_s"] is None:
            d["at_s"] = e.get("t_s")
        elif kind == "evidence":
            d["evidence"], d["evidence_at_s"] = e.get("evidence"), e.get("t_s")
        elif kind in ("no_evidence", "not_started"):
            d.setdefault("no_evidence", e.get("reason"))
    return [drops[i] for i in sorted(drops)]


def drop_problems(drops: list[dict], late_limit_s: float) -> list[str]:
    """What keeps each drop from proving its phases: never began, began more than
    ``late_limit_s`` after its planned time, or no evidence. One line each."""
    problems = []
    for d in drops:
        name = f"drop {d['index']} ({d['mode']} on {d['victim']}, planned at {d['scheduled_s']} s)"
        if d["at_s"] is None:
            problems.append(f"{name} never started: {d.get('no_evidence') or 'no start recorded'}")
        elif d["scheduled_s"] is not None and d["at_s"] - d["scheduled_s"] > late_limit_s:
            problems.append(
                f"{name} began {d['at_s'] - d['scheduled_s']:.2f} s late (limit {late_limit_s:g} s)"
            )
        elif not d["evidence"]:
            problems.append(f"{name} unproven: {d.get('no_evidence') or 'no evidence recorded'}")
    return problems
