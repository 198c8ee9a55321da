"""A durable reclaim judged by [MS-SMB2]. Pure: from the history alone.

The ``reclaim`` drop (harness.drops.reclaim) records, in the victim's history, ``reclaim_sent``
just before its reconnect CREATE (DHnC or DH2C) and ``reclaim`` once answered: ``status``
(``ok``, the NT status name of a refusal, ``timeout``, ``error``, ``not_sent``), ``session``
(the session reconnect with PreviousSessionId: ``ok`` or why it failed), ``wrote`` (the block
the victim wrote on the handle before it dropped: offset, length, CRC-32) and, once granted,
``read_back`` (that block's CRC-32 as read through the reclaimed handle).

A *conflicting open* is one the healthy clients' contended probe (``smb_contend``: the held
file opened for write, which the holder's share mode READ and batch oplock forbid) was granted
after the drop and before the reclaim was sent. The rule ([MS-SMB2] 3.3.5.9.7 and 3.3.5.9.12;
smbtorture's durable-open and durable-v2-open tests):

- after a conflicting open, the reclaim must fail: its success is a violation ``stale_reclaim``
  (smbtorture expects STATUS_OBJECT_NAME_NOT_FOUND; any refusal passes, its status is shown);
- with no conflict (none before it, none granted while it was answered), sent within the
  durable timeout the server granted (v2; v1 has none to hold against), it must succeed:
  a refusal is a violation ``reclaim_refused``, and the block must read back as written
  (``reclaim_read_back``);
- an answer that never came is a violation ``reclaim_unanswered``;
- a reclaim that was never sent (no session, the run's end) is a problem (no verdict can be
  given on it: ``error``).
"""

from __future__ import annotations

from harness.checkers.access import answered_at_s
from harness.checkers.ops import Op

PROBE = "reclaim"  # the violations' probe
CONTENDED = "smb_contend"
MS_SMB2 = "[MS-SMB2] 3.3.5.9.7/3.3.5.9.12"
UNANSWERED = ("timeout", "error")  # the reclaim's CREATE got no NT status back


def _violation(stat: str, phase: str, detail: str, **more) -> dict:
    return {
        "probe": PROBE,
        "phase": phase,
        "stat": stat,
        "observed_us": None,
        "limit_us": None,
        "detail": detail,
        **more,
    }


def reclaim_summary(events: list[dict], ops: list[Op]) -> tuple[dict | None, list[dict], list[str]]:
    """(summary, violations, problems) of the run's reclaim; (None, [], []) when it had none.
    ``ops``: the run's operations (checkers.ops), the healthy clients' contended opens among
    them. The summary: handle, status, session, sent_s, after_drop_s, conflict (the first
    conflicting open granted before it: client and completed_s; None), expected (``refused``
    or ``granted``), read_back (``as written``, ``differs``, or the READ's error)."""
    mine = [e for e in events if e.get("type") == "drop" and e.get("mode") == "reclaim"]
    done = next((e for e in mine if e.get("event") == "reclaim"), None)
    started = next((e for e in mine if e.get("event") == "start"), None)
    if done is None:
        if started is None:
            return None, [], []
        return None, [], ["drop reclaim: the victim recorded no reclaim (it never came back)"]
    status = str(done.get("status"))
    summary = {
        "handle": done.get("handle"),
        "status": status,
        "session": done.get("session"),
        "after_drop_s": done.get("after_drop_s"),
    }
    if status == "not_sent":
        why = done.get("error") or done.get("session") or "not sent"
        return summary, [], [f"drop reclaim: the reclaim was never sent: {why}"]
    sent = next((e for e in mine if e.get("event") == "reclaim_sent"), None)
    sent_s = sent["t_s"] if sent else done["t_s"]
    drop_s = started["t_s"] if started else 0.0
    granted_opens = [
        o for o in ops if o.role == "healthy" and o.probe == CONTENDED and o.outcome == "ok"
    ]
    before = [o for o in granted_opens if drop_s <= answered_at_s(o) <= sent_s]
    during = [
        o
        for o in granted_opens
        if answered_at_s(o) > sent_s and (o.sent_s or o.intended_s) <= done["t_s"]
    ]
    first = min(before, key=answered_at_s, default=None)
    summary["sent_s"] = round(sent_s, 3)
    summary["conflict"] = None
    if first is not None:
        summary["conflict"] = {
            "client": first.process,
            "granted_s": round(answered_at_s(first), 3),
            "after_drop_s": round(answered_at_s(first) - drop_s, 3),
        }
    summary["expected"] = "refused" if first else "granted"
    return summary, _judged(summary, done, first, bool(during), events), []


def _judged(summary: dict, done: dict, first: Op | None, raced: bool, events: list) -> list:
    """The violations of an answered reclaim (``first``: the first conflicting open before
    it; ``raced``: one granted while it was answered); sets ``summary['expected']``."""
    status, phase = summary["status"], str(done.get("phase", "recovery"))
    what = f"durable reclaim ({summary['handle']}) {summary['after_drop_s']} s after the drop"
    if status in UNANSWERED:
        return [
            _violation(
                "reclaim_unanswered",
                phase,
                f"the {what} was not answered: {done.get('error') or status}",
            )
        ]
    if first is not None:
        if status != "ok":
            return []
        _read_back(summary, done, phase, what)  # shown, not judged: the handle should not be
        after_s = summary["conflict"]["after_drop_s"]
        granted_at = f"{first.process} was granted a conflicting open {after_s:.2f} s after it"
        detail = (
            f"the server granted the stale {what}, after {granted_at} "
            f"({MS_SMB2}: it must fail, STATUS_OBJECT_NAME_NOT_FOUND)"
        )
        return [_violation("stale_reclaim", phase, detail, observed=status, limit="refused")]
    if raced:
        summary["expected"] = "either"  # a conflicting open raced it: no rule to apply
        return []
    if status == "ok":
        return _read_back(summary, done, phase, what)
    timeout_ms = _granted_timeout_ms(events)
    after_s = summary["after_drop_s"]
    if timeout_ms is not None and after_s is not None and after_s * 1000 > timeout_ms:
        summary["expected"] = "refused"  # past the durable timeout the server granted
        return []
    within = f", within its {timeout_ms} ms timeout" if timeout_ms else ""
    detail = (
        f"the server refused the {what} ({status}) although no other client had opened the "
        f"file{within}"
    )
    return [_violation("reclaim_refused", phase, detail, observed=status, limit="granted")]


def _granted_timeout_ms(events: list[dict]) -> int | None:
    """The durable v2 timeout the server granted at set-up (the ``holding`` event), or None."""
    held = next((e for e in events if e.get("type") == "holding"), None)
    value = held.get("durable_timeout_ms") if held else None
    return int(value) if isinstance(value, int) and value > 0 else None


def _read_back(summary: dict, done: dict, phase: str, what: str) -> list[dict]:
    """The victim's block, read through the reclaimed handle, must be what it wrote."""
    wrote, got = done.get("wrote"), done.get("read_back")
    if not isinstance(wrote, dict):
        return []
    if not isinstance(got, dict) or "crc32" not in got:
        error = got.get("error") if isinstance(got, dict) else "no read-back recorded"
        summary["read_back"] = error
    elif got["crc32"] == wrote.get("crc32") and got.get("length") == wrote.get("length"):
        summary["read_back"] = "as written"
        return []
    else:
        summary["read_back"] = "differs"
    return [
        _violation(
            "reclaim_read_back",
            phase,
            f"after the {what} the victim's acknowledged block at offset {wrote.get('offset')} "
            f"({wrote.get('length')} bytes) read back {summary['read_back']}",
        )
    ]


def reclaim_line(summary: dict) -> str:
    """One line for the table: ``reclaim DH2C 2.013 s after the drop: refused
    STATUS_OBJECT_NAME_NOT_FOUND after a conflicting open (healthy, 0.50 s after the drop), as
    required``."""
    status = summary.get("status")
    got = "granted" if status == "ok" else f"refused {status}"
    if status in UNANSWERED:
        got = f"not answered ({status})"
    conflict = summary.get("conflict")
    why = (
        f"after a conflicting open ({conflict['client']}, {conflict['after_drop_s']:.2f} s after "
        "the drop)"
        if conflict
        else "with no conflicting open"
    )
    expected = summary.get("expected")
    verdict = (
        "must be answered"
        if status in UNANSWERED
        else "as required"
        if expected == "either" or (expected == "granted") == (status == "ok")
        else f"must be {expected}"
    )
    read = f"; read back {summary['read_back']}" if summary.get("read_back") else ""
    return (
        f"reclaim {summary.get('handle')} {summary.get('after_drop_s')} s after the drop: "
        f"{got} {why}, {verdict}{read}"
    )
