"""Time-to-access: when a healthy client got the file the lost victim held. Pure.

From the contended probe's operations (``smb_contend``) in the history: the status of every
attempt in order (``ok``, the NT status name of a failure such as STATUS_SHARING_VIOLATION,
``timeout`` for an open the server left waiting, ``stall`` for one never completed), run-length
collapsed into the status sequence, and the time from the drop's start to the completion of
the first successful attempt. Against ``max_wait_s`` that is the verdict's ``access``
violation: access later than the bound, or never within the run.

What the opener went through, for the line: every run of one status with its times (from the
drop) and the longest any of its attempts waited, so a wait for an answer shows as ``blocked``
(an attempt that waited at least ``BLOCKED_S``) before it was ``granted``, ``refused`` (an NT
status) or ``timed out``; ``first_answer_s`` is the drop to the first answer of either kind.
"""

from __future__ import annotations

from harness.checkers.ops import Op

PROBE = "smb_contend"
BLOCKED_S = 1.0  # an attempt that waited this long for its answer was blocked by the server


def attempt_status(op: Op) -> str:
    """``ok``, ``timeout``, ``not_sent``, ``stall``, or the NT status a failure named (its
    first word)."""
    if op.outcome == "ok":
        return "ok"
    if op.outcome == "info":  # never sent (an earlier attempt still waited) or timed out
        return "not_sent" if (op.error or "").startswith("not sent") else "timeout"
    if op.outcome == "stall":
        return "stall"
    word = (op.error or "error").split(":")[0].split()[0] if (op.error or "").strip() else "error"
    return word if word.startswith("STATUS_") else "error"


def answered(op: Op) -> bool:
    """The server answered the attempt: granted, or refused with an NT status."""
    status = attempt_status(op)
    return status == "ok" or status.startswith("STATUS_")


def waited_s(op: Op) -> float:
    """How long an attempt waited: until its answer, or until the client gave up on it."""
    return (op.latency_us or 0) / 1e6


def answered_at_s(op: Op) -> float:
    """When the attempt's answer came, or the client gave up on it (s on the run's clock)."""
    return op.intended_s + waited_s(op)


def status_sequence(ops: list[Op]) -> list[dict]:
    """[{status, count, first_s, last_s, longest_s}] in the order the attempts were sent
    (intended_s); longest_s: the longest any of them waited."""
    out: list[dict] = []
    for op in ops:
        status = attempt_status(op)
        if out and out[-1]["status"] == status:
            out[-1]["count"] += 1
            out[-1]["last_s"] = round(op.intended_s, 3)
            out[-1]["longest_s"] = max(out[-1]["longest_s"], round(waited_s(op), 3))
        else:
            out.append(
                {
                    "status": status,
                    "count": 1,
                    "first_s": round(op.intended_s, 3),
                    "last_s": round(op.intended_s, 3),
                    "longest_s": round(waited_s(op), 3),
                }
            )
    return out


def access_summary(
    ops: list[Op],
    drop_at_s: float | None,
    max_wait_s: float | None,
    holds: str | None = None,
    probe: str = PROBE,
    max_answer_s: float | None = None,
) -> tuple[dict | None, list[dict]]:
    """({holds, attempts, time_to_access_s, first_answer_s, longest_wait_s, statuses,
    max_wait_s, max_answer_s}, violations) for the contended probe's operations; (None, [])
    when the run had none. ``max_answer_s`` bounds the drop -> first answer (granted or
    refused): a server that leaves the opener waiting on a holder's break longer fails
    (violation ``first_answer``), whether or not it later grants the file."""
    mine = sorted((o for o in ops if o.probe == probe), key=lambda o: o.intended_s)
    if not mine:
        return None, []
    time_to_access_s = first_answer_s = longest_wait_s = None
    if drop_at_s is not None:
        since = [o for o in mine if o.intended_s >= drop_at_s]
        first_ok = next((o for o in since if o.outcome == "ok"), None)
        if first_ok is not None:
            completed_s = answered_at_s(first_ok)
            time_to_access_s = round(max(0.0, completed_s - drop_at_s), 3)
        answer = next((o for o in since if answered(o)), None)
        if answer is not None:
            first_answer_s = round(max(0.0, answered_at_s(answer) - drop_at_s), 3)
        if since:
            longest_wait_s = round(max(waited_s(o) for o in since), 3)
    summary = {
        "holds": holds,
        "probe": probe,
        "attempts": len(mine),
        "time_to_access_s": time_to_access_s,
        "max_wait_s": max_wait_s,
        "drop_at_s": drop_at_s,
        "first_answer_s": first_answer_s,
        "longest_wait_s": longest_wait_s,
        "statuses": status_sequence(mine),
    }
    if max_answer_s is not None:
        summary["max_answer_s"] = max_answer_s
    violations = []
    if drop_at_s is not None:
        for stat, observed_s, limit_s, never, after_what in (
            ("time_to_access", time_to_access_s, max_wait_s, "never got access", "access"),
            ("first_answer", first_answer_s, max_answer_s, "never answered", "first answer"),
        ):
            if limit_s is None or (observed_s is not None and observed_s <= limit_s):
                continue
            violations.append(
                {
                    "probe": probe,
                    "phase": "fault",
                    "stat": stat,
                    "observed_us": None if observed_s is None else round(observed_s * 1e6),
                    "limit_us": round(limit_s * 1e6),
                    "note": f"{never} within the run"
                    if observed_s is None
                    else f"{after_what} after {observed_s:.2f} s",
                }
            )
    return summary, violations


WENT_THROUGH = {"ok": "granted", "timeout": "timed out", "not_sent": "not sent", "stall": "stalled"}


def went_through(run: dict, drop_at_s: float | None) -> str:
    """One run of the status sequence as the opener met it: ``blocked 35.0 s, then refused
    STATUS_SHARING_VIOLATION x9 at 35.5-39.9 s`` (times from the drop, when it is known)."""
    status = run["status"]
    what = WENT_THROUGH.get(status, f"refused {status}" if status.startswith("STATUS_") else status)
    longest = run.get("longest_s")
    blocked = (
        f"blocked {longest:.1f} s, then "
        if longest is not None and longest >= BLOCKED_S and status != "timeout"
        else ""
    )
    if status == "timeout" and longest is not None:
        what += f" after {longest:.1f} s"
    if drop_at_s is None:
        return f"{blocked}{what} x{run['count']}"
    first, last = run["first_s"] - drop_at_s, run["last_s"] - drop_at_s
    when = f"at {first:.1f} s" if run["count"] == 1 else f"at {first:.1f}-{last:.1f} s"
    return f"{blocked}{what} x{run['count']} {when}"


def access_line(access: dict) -> str:
    """One line for the table: the holding, the time-to-access and what the opener went
    through (the status sequence, with its waits and times from the drop)."""
    tta = access.get("time_to_access_s")
    got = "never got the file" if tta is None else f"got the file {tta:.3f} s after the drop"
    bound = access.get("max_wait_s")
    drop_at_s = access.get("drop_at_s")
    seq = ", ".join(went_through(s, drop_at_s) for s in access.get("statuses", [])[:8])
    more = " ..." if len(access.get("statuses", [])) > 8 else ""
    answer = access.get("first_answer_s")
    answer_bound = access.get("max_answer_s")
    first = (
        ""
        if answer is None or (tta is not None and answer >= tta)
        else f"; first answer {answer:.3f} s after the drop"
        + (f" (max_answer_s {answer_bound:g})" if answer_bound is not None else "")
    )
    return (
        f"holds {access.get('holds')}: {got}"
        + (f" (max_wait_s {bound:g})" if bound is not None else "")
        + first
        + f"; {access.get('attempts')} attempts: {seq}{more}"
    )
