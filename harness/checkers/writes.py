"""Acknowledged writes are never lost. Pure: from the history alone.

Every smb_rw operation of a healthy client, and every write of the victim's own data before
its drop (harness.clients.victim_data: role ``victim``, probe ``victim_write``), records what
it wrote in its completion's ``detail`` (file, offset, length, CRC-32, ``acked`` once the
server acknowledged the WRITE; ``read_back: mismatch`` when a read-back right after it
differed). The victim's FLUSH is an operation too (``detail``: file, ``flush``); a victim's
write is *flushed* when an acknowledged FLUSH of its file followed it. After the recovery
phase the runner re-reads every acknowledged block from a fresh session and records one
``verify`` event per file (``blocks``: offset -> CRC-32 of what is there now, None past the
end). A violation, in any phase (the phase the write was made in):

- ``read_back``: the read-back right after an acknowledged write differed;
- ``lost_write``: after recovery the block is missing (file gone or too short), differs
  from what was acknowledged, or could not be verified at all (``unverified``). The victim's
  blocks count whether flushed or not (the drop is the client's: a server keeps what it
  acknowledged; FLUSH only adds durability against the server's own crash); the violation
  says which (``flushed``);
- ``errors`` of ``victim_write`` / ``victim_flush``: a write or flush of the victim's data
  before its drop failed or timed out (a healthy server takes them; without them nothing of
  the victim's would be verified).

Violations are grouped per client, phase and kind (``offsets`` lists them, ``blocks`` counts
them), so a lost file is one line, not one per block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from harness.checkers.ops import operations
from harness.history import COMPLETIONS, INVOKE, OK

MAX_OFFSETS_LISTED = 10


VICTIM_PROBES = ("victim_write", "victim_flush")


@dataclass(frozen=True)
class AckedWrite:
    client: str
    file: str
    offset: int
    length: int
    crc32: int
    phase: str
    read_back_mismatch: bool
    probe: str = "smb_rw"
    flushed: bool | None = None  # the victim's: an acknowledged FLUSH followed; None: no FLUSH kind


def acknowledged_writes(events: Iterable[dict]) -> list[AckedWrite]:
    """Every write the server acknowledged, with the phase its operation was invoked in."""
    phases: dict[tuple, str] = {}
    done: list[dict] = []
    flushes: dict[tuple, list[int]] = defaultdict(list)  # (process, file) -> seqs acknowledged
    for e in events:
        if "probe" not in e or "seq" not in e:
            continue
        if e["type"] == INVOKE:
            phases[(e.get("process"), e["probe"], e["seq"])] = e.get("phase", "?")
        elif e["type"] in COMPLETIONS and isinstance(e.get("detail"), dict):
            d = e["detail"]
            if d.get("flush") and e["type"] == OK:
                flushes[(e.get("process"), str(d.get("file")))].append(e["seq"])
            elif d.get("acked") and "offset" in d:
                done.append(e)
    out = []
    for e in done:
        d = e["detail"]
        process = e.get("process", "?")
        victim = e.get("role") == "victim"
        try:
            out.append(
                AckedWrite(
                    process,
                    str(d["file"]),
                    int(d["offset"]),
                    int(d["length"]),
                    int(d["crc32"]),
                    phases.get((e.get("process"), e["probe"], e["seq"]), "?"),
                    d.get("read_back") == "mismatch",
                    str(e["probe"]),
                    any(f > e["seq"] for f in flushes[(e.get("process"), str(d["file"]))])
                    if victim
                    else None,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # not a write's detail
    out.sort(key=lambda w: (w.client, w.offset))
    return out


def victim_errors(events: Iterable[dict]) -> list[dict]:
    """The victim's writes and flush before its drop that did not succeed (failed, timed out,
    or never completed), one violation per operation kind and phase."""
    bad: dict[tuple, list[str]] = defaultdict(list)
    for op in operations(events):  # invocations paired with completions, stalls included
        if op.probe in VICTIM_PROBES and op.outcome != OK:
            bad[(op.process, op.probe, op.phase)].append(str(op.error or op.outcome))
    return [
        {
            "probe": probe,
            "phase": phase,
            "stat": "errors",
            "observed_us": None,
            "limit_us": None,
            "observed": len(whys),
            "limit": 0,
            "client": client,
            "detail": f"{client}: {len(whys)} {probe} operation(s) before the drop did not "
            f"succeed: {whys[0]}",
        }
        for (client, probe, phase), whys in sorted(bad.items())
    ]


def blocks_to_verify(writes: list[AckedWrite]) -> dict[str, list[tuple[int, int]]]:
    """file -> [(offset, length)]: what the post-recovery step must re-read."""
    files: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for w in writes:
        files[w.file].append((w.offset, w.length))
    return dict(files)


def _found(verify: dict | None, w: AckedWrite) -> str | None:
    """None if the block is there as acknowledged; else what is wrong with it."""
    if verify is None:
        return "unverified: no re-read after recovery"
    if verify.get("missing_file"):
        return "missing"
    if verify.get("error"):
        return f"unverified: {verify['error']}"
    blocks = verify.get("blocks") or {}
    if str(w.offset) not in blocks:
        return "unverified: not re-read"
    crc = blocks[str(w.offset)]
    if crc is None:
        return "missing"
    return None if crc == w.crc32 else "mismatch"


def write_violations(events: list[dict]) -> list[dict]:
    out = victim_errors(events)
    writes = acknowledged_writes(events)
    if not writes:
        return out
    verified = {e.get("file"): e for e in events if e.get("type") == "verify"}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for w in writes:
        if w.read_back_mismatch:
            groups[(w.client, w.probe, w.phase, "read_back", "mismatch", w.flushed)].append(
                w.offset
            )
        problem = _found(verified.get(w.file), w)
        if problem:
            groups[(w.client, w.probe, w.phase, "lost_write", problem, w.flushed)].append(w.offset)
    for (client, probe, phase, stat, observed, flushed), offsets in groups.items():
        what = (
            "the read-back right after the acknowledged write differed"
            if stat == "read_back"
            else f"acknowledged block(s) {observed} after recovery"
        )
        listed = ", ".join(map(str, offsets[:MAX_OFFSETS_LISTED]))
        more = (
            f" (+{len(offsets) - MAX_OFFSETS_LISTED} more)"
            if len(offsets) > MAX_OFFSETS_LISTED
            else ""
        )
        when = {True: ", flushed before the drop", False: ", not flushed before the drop"}.get(
            flushed, ""
        )
        out.append(
            {
                "probe": probe,
                "phase": phase,
                "stat": stat,
                "observed_us": None,
                "limit_us": None,
                "client": client,
                "offset": offsets[0],
                "offsets": offsets[:MAX_OFFSETS_LISTED],
                "blocks": len(offsets),
                "observed": observed,
                "limit": "as acknowledged",
                **({} if flushed is None else {"flushed": flushed}),
                "detail": f"{client}: {what}, {len(offsets)} block(s) at offset {listed}{more} "
                f"(written in {phase}{when})",
            }
        )
    out.sort(key=lambda v: (v["client"], v.get("offset", -1)))
    return out
