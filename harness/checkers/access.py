"""Time-to-access: when a healthy client got the file the lost victim held. Pure.

From the contended probe's operations (``smb_contend``) in the history: the status of every
attempt in order (``ok``, the NT status name of a failure such as STATUS_SHARING_VIOLATION,
``timeout`` for an open the server left waiting, ``stall`` for one never completed), run-length
collapsed into the status sequence, and the time from the drop's start to the completion of
the first successful attempt. Against ``max_wait_s`` that is the verdict's ``access``
violation: access later than the bound, or never within the run.
"""

from __future__ import annotations

from harness.checkers.ops import Op

PROBE = "smb_contend"


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


def status_sequence(ops: list[Op]) -> list[dict]:
    """[{status, count, first_s, last_s}] in the order the attempts were sent (intended_s)."""
    out: list[dict] = []
    for op in ops:
        status = attempt_status(op)
        if out and out[-1]["status"] == status:
            out[-1]["count"] += 1
            out[-1]["last_s"] = round(op.intended_s, 3)
        else:
            out.append({"status": status, "count": 1, "first_s": round(op.intended_s, 3),
                        "last_s": round(op.intended_s, 3)})
    return out


def access_summary(ops: list[Op], drop_at_s: float | None, max_wait_s: float | None,
                   holds: str | None = None, probe: str = PROBE) -> tuple[dict | None, list[dict]]:
    """({holds, attempts, time_to_access_s, statuses, max_wait_s}, violations) for the
    contended probe's operations; (None, []) when the run had none."""
    mine = sorted((o for o in ops if o.probe == probe), key=lambda o: o.intended_s)
    if not mine:
        return None, []
    first_ok = next((o for o in mine if o.outcome == "ok"
                     and (drop_at_s is None or o.intended_s >= drop_at_s)), None)
    time_to_access_s = None
    if first_ok is not None and drop_at_s is not None:
        completed_s = first_ok.intended_s + (first_ok.latency_us or 0) / 1e6
        time_to_access_s = round(max(0.0, completed_s - drop_at_s), 3)
    summary = {"holds": holds, "probe": probe, "attempts": len(mine),
               "time_to_access_s": time_to_access_s, "max_wait_s": max_wait_s,
               "statuses": status_sequence(mine)}
    violations = []
    if max_wait_s is not None and drop_at_s is not None and (
            time_to_access_s is None or time_to_access_s > max_wait_s):
        violations.append({"probe": probe, "phase": "fault", "stat": "time_to_access",
                           "observed_us": None if time_to_access_s is None else round(time_to_access_s * 1e6),
                           "limit_us": round(max_wait_s * 1e6),
                           "note": "never got access within the run" if time_to_access_s is None
                           else f"access after {time_to_access_s:.2f} s"})
    return summary, violations


def access_line(access: dict) -> str:
    """One line for the table: the holding, the time-to-access and the status sequence."""
    tta = access.get("time_to_access_s")
    got = "never got the file" if tta is None else f"got the file {tta:.3f} s after the drop"
    bound = access.get("max_wait_s")
    seq = ", ".join(f"{s['status']} x{s['count']}" for s in access.get("statuses", [])[:8])
    more = " ..." if len(access.get("statuses", [])) > 8 else ""
    return (f"holds {access.get('holds')}: {got}"
            + (f" (max_wait_s {bound:g})" if bound is not None else "")
            + f"; {access.get('attempts')} attempts: {seq}{more}")
