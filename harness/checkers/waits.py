"""What a violation waited on: one sentence per violation saying what the server was doing to
the victim while the healthy client waited. Pure: from the history alone.

The wait: for a time-to-access (or first-answer) violation, the contended probe's longest
attempt since the drop; for a latency or error bound, the probe's slowest healthy operation
in the phase. What the server did to the victim meanwhile, from what the run gathered
(harness.run.waits):

- the breaks it sent the victim (``victim_break``, from the capture), outstanding during the
  wait, and what became of the first: acknowledged by the victim (when), taken by the
  victim's TCP but never acknowledged, or not even taken by its TCP; else the victim's own
  record of breaks it received (the break-ignoring drops), else that no break was sent (the
  capture saw the victim's flow) or that nothing could be seen (no capture);
- the server's own tables (``server_tables``, smbstatus): the victim's entry on the held file
  (or its opens, without one) at the last sample inside the wait, or when it was gone.

Times are from the drop when there was one ("3.01 s after the drop", "1.64 s before the
drop"), else on the run's clock.
"""

from __future__ import annotations

from harness.checkers.access import answered_at_s, attempt_status, waited_s
from harness.checkers.ops import Op

ACCESS_STATS = ("time_to_access", "first_answer")
OUTCOME = {"ok": "then granted", "timeout": "timed out", "stall": "never answered"}


def _when(t_s: float, drop_at_s: float | None) -> str:
    if drop_at_s is None:
        return f"{t_s:.2f} s"
    since_s = t_s - drop_at_s
    if since_s <= -0.005:
        return f"{-since_s:.2f} s before the drop"
    return f"{0.0 if abs(since_s) < 0.005 else since_s:.2f} s after the drop"


def the_wait(violation: dict, ops: list[Op], drop_at_s: float | None) -> Op | None:
    """The healthy operation that stands for the violation's wait: the longest (a stall
    counts as waiting to the end of the history), of the probe in the phase (for an access
    violation: outstanding at the drop or sent after it)."""
    probe, phase = violation.get("probe"), violation.get("phase")
    if violation.get("stat") in ACCESS_STATS:
        mine = [  # outstanding at the drop or sent after it
            o
            for o in ops
            if o.probe == probe
            and (drop_at_s is None or o.outcome == "stall" or answered_at_s(o) >= drop_at_s)
            and attempt_status(o) != "not_sent"
        ]
    else:
        mine = [o for o in ops if o.probe == probe and o.phase == phase]
    mine = [o for o in mine if o.role == "healthy"]
    if not mine:
        return None
    return max(mine, key=lambda o: (o.outcome == "stall", waited_s(o)))


def _status(op: Op) -> str:
    status = attempt_status(op)
    return OUTCOME.get(status, f"then {status}" if status.startswith("STATUS_") else status)


def break_phrase(brk: dict, drop_at_s: float | None) -> str:
    """``an oplock break (to none) was sent to the victim at 3.01 s after the drop and never
    acknowledged, not even by its TCP (retransmitted 3 times)``"""
    what = (
        f"a lease break ({brk.get('from_state')} to {brk.get('to_state')})"
        if brk.get("kind") == "lease"
        else f"an oplock break (to {brk.get('to', '?')})"
    )
    sent = f"{what} was sent to the victim at {_when(brk['sent_s'], drop_at_s)}"
    if brk.get("acked_s") is not None:
        late = brk["acked_s"] - brk["sent_s"]
        return f"{sent} and acknowledged {late:.2f} s later"
    if brk.get("tcp_acked_s") is not None:
        return f"{sent}; its TCP took the bytes but it never acknowledged the break"
    again = brk.get("retransmits") or 0
    return f"{sent} and never acknowledged, not even by its TCP" + (
        f" (retransmitted {again} times)" if again else ""
    )


def breaks_part(events: list[dict], start_s: float, end_s: float, drop_at_s) -> str:
    """What the server's breaks to the victim were during [start_s, end_s]."""
    seen = next((e for e in events if e.get("type") == "victim_breaks"), None)
    captured = [e for e in events if e.get("type") == "victim_break"]
    if seen and seen.get("captured"):
        during = [
            b
            for b in captured
            if b["sent_s"] <= end_s and (b.get("acked_s") is None or b["acked_s"] >= start_s)
        ]
        if not during:
            return "the server sent the victim no break"
        more = len(during) - 1
        return break_phrase(during[0], drop_at_s) + (f" (+{more} more)" if more > 0 else "")
    recorded = [
        e
        for e in events
        if e.get("type") == "drop" and e.get("event") == "break_received" and e["t_s"] <= end_s
    ]
    if recorded:
        acks = [
            e for e in events if e.get("type") == "drop" and e.get("event") == "break_acknowledged"
        ]
        first = recorded[0]
        kind = (
            f"an {first['kind']} "
            if first.get("kind") == "oplock"
            else (f"a {first['kind']} " if first.get("kind") else "a ")
        )
        ack = next((a for a in acks if first["t_s"] <= a["t_s"] <= end_s), None)
        answer = (
            f", acknowledged at {_when(ack['t_s'], drop_at_s)}"
            if ack
            else " and not acknowledged by then"
        )
        received = _when(first["t_s"], drop_at_s)
        return f"the victim recorded {kind}break received at {received}{answer}"
    return "no capture of the victim's flow showed what the server sent it"


def _entry(o: dict) -> str:
    held = f"lease {o['lease']}" if o.get("lease") else None
    if held is None and o.get("oplock"):
        held = f"{o['oplock']} oplock"
    return f"share {o.get('share')}" + (f", {held}" if held else "")


def tables_part(events: list[dict], held_file: str | None, end_s: float, drop_at_s) -> str | None:
    """The victim's entries in the server's tables by ``end_s``: still there at the last
    sample, or the last sample they stood at and the first they were gone at."""
    samples = [e for e in events if e.get("type") == "server_tables" and e.get("available")]
    if not samples:
        return None
    before_end = [s for s in samples if s["t_s"] <= end_s] or samples[:1]

    def victims(sample: dict) -> tuple[list[dict], list[dict]]:
        pick = [o for o in sample.get("opens", []) if o.get("victim")]
        locks = [lk for lk in sample.get("locks", []) if lk.get("victim")]
        if held_file:
            pick = [o for o in pick if o.get("file") == held_file]
            locks = [lk for lk in locks if lk.get("file") == held_file]
        return pick, locks

    def entries(sample: dict) -> str:
        opens, locks = victims(sample)
        whose = "its" if opens else "the victim's"
        return " and ".join(
            [f"the victim's open ({_entry(o)})" for o in opens[:1]]
            + [
                f"{whose} byte-range lock ({lk.get('type')} {lk.get('start')}+{lk.get('size')})"
                for lk in locks[:1]
            ]
        )

    last = before_end[-1]
    if any(victims(last)):
        if drop_at_s is not None and last["t_s"] < drop_at_s:  # the run samples before and after
            return (
                f"{entries(last)} stood at {_when(last['t_s'], drop_at_s)}, the last sample by "
                "then (server's tables)"
            )
        return f"{entries(last)} still stood at {_when(last['t_s'], drop_at_s)} (server's tables)"
    had = [s for s in before_end if any(victims(s))]
    if not had:
        at = _when(last["t_s"], drop_at_s)
        return f"the server's tables showed none of the victim's entries at {at}"
    stood = had[-1]
    gone = _when(next(s for s in samples if s["t_s"] > stood["t_s"])["t_s"], drop_at_s)
    if drop_at_s is None or stood["t_s"] >= drop_at_s:
        return (
            f"{entries(stood)} stood until at least {_when(stood['t_s'], drop_at_s)} and was "
            f"gone by {gone} (server's tables)"
        )
    what = "open of the held file was" if held_file else "opens were"
    return f"the victim's {what} gone by {gone} (server's tables)"


def waited_on(
    violation: dict, events: list[dict], ops: list[Op], drop_at_s: float | None
) -> str | None:
    """The sentence for one violation (see the module docstring); None when no healthy
    operation stands for it (an idle session lost, a write read back wrong)."""
    op = the_wait(violation, ops, drop_at_s)
    if op is None:
        return None
    end_of_history = max((e.get("t_s", 0.0) for e in events), default=0.0)
    start_s = op.intended_s
    end_s = end_of_history if op.outcome == "stall" else start_s + waited_s(op)
    head = f"{op.probe} waited {end_s - start_s:.1f} s ({_status(op)})"
    if violation.get("stat") in ACCESS_STATS and drop_at_s is not None:
        # the whole wait counts: from the drop to access (or the first answer), or the end
        start_s = min(start_s, drop_at_s)
        observed_us = violation.get("observed_us")
        what = "access" if violation.get("stat") == "time_to_access" else "a first answer"
        if observed_us is None:
            end_s = max(end_s, end_of_history)
            head += f", no {what.removeprefix('a ')} in the run"
        else:
            end_s = max(end_s, drop_at_s + observed_us / 1e6)
            head += f", {what} {observed_us / 1e6:.1f} s after the drop"
    held = next((e.get("file") for e in events if e.get("type") == "holding"), None)
    parts = [breaks_part(events, start_s, end_s, drop_at_s)]
    table = tables_part(events, held, end_s, drop_at_s)
    if table:
        parts.append(table)
    return f"{head}: " + "; ".join(parts)


def explain(violations: list[dict], events: list[dict], ops: list[Op], drop_at_s) -> list[dict]:
    """The violations, each with its ``waited_on`` sentence where the run gathered what the
    server did to its victim (harness.run.waits: one victim; a scenario with none waited on
    nothing a victim did) and a healthy operation stands for it."""
    if not any(e.get("type") in ("victim_breaks", "server_tables") for e in events):
        return violations
    out = []
    for v in violations:
        said = waited_on(v, events, ops, drop_at_s)
        out.append(v if said is None else {**v, "waited_on": said})
    return out
