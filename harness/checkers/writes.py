"""Acknowledged writes are never lost. Pure: from the history alone.

Every smb_rw operation records what it wrote in its completion's ``detail`` (file, offset,
length, CRC-32, ``acked`` once the server acknowledged the WRITE; ``read_back: mismatch``
when the read-back right after it differed). After the recovery phase the runner re-reads
every acknowledged block from a fresh session and records one ``verify`` event per file
(``blocks``: offset -> CRC-32 of what is there now, None past the end). A violation, in any
phase (the phase the write was made in):

- ``read_back``: the read-back right after an acknowledged write differed;
- ``lost_write``: after recovery the block is missing (file gone or too short), differs
  from what was acknowledged, or could not be verified at all (``unverified``).

Violations are grouped per client, phase and kind (``offsets`` lists them, ``blocks`` counts
them), so a lost file is one line, not one per block.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from harness.history import COMPLETIONS, INVOKE

MAX_OFFSETS_LISTED = 10


@dataclass(frozen=True)
class AckedWrite:
    client: str
    file: str
    offset: int
    length: int
    crc32: int
    phase: str
    read_back_mismatch: bool


def acknowledged_writes(events: Iterable[dict]) -> list[AckedWrite]:
    """Every write the server acknowledged, with the phase its operation was invoked in."""
    phases: dict[tuple, str] = {}
    done: list[dict] = []
    for e in events:
        if "probe" not in e or "seq" not in e:
            continue
        if e["type"] == INVOKE:
            phases[(e.get("process"), e["probe"], e["seq"])] = e.get("phase", "?")
        elif e["type"] in COMPLETIONS and isinstance(e.get("detail"), dict) and e["detail"].get("acked"):
            done.append(e)
    out = []
    for e in done:
        d = e["detail"]
        try:
            out.append(AckedWrite(e.get("process", "?"), str(d["file"]), int(d["offset"]),
                                  int(d["length"]), int(d["crc32"]),
                                  phases.get((e.get("process"), e["probe"], e["seq"]), "?"),
                                  d.get("read_back") == "mismatch"))
        except (KeyError, TypeError, ValueError):
            continue  # not a write's detail
    out.sort(key=lambda w: (w.client, w.offset))
    return out


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
    writes = acknowledged_writes(events)
    if not writes:
        return []
    verified = {e.get("file"): e for e in events if e.get("type") == "verify"}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for w in writes:
        if w.read_back_mismatch:
            groups[(w.client, w.phase, "read_back", "mismatch")].append(w.offset)
        problem = _found(verified.get(w.file), w)
        if problem:
            groups[(w.client, w.phase, "lost_write", problem)].append(w.offset)
    out = []
    for (client, phase, stat, observed), offsets in groups.items():
        what = ("the read-back right after the acknowledged write differed" if stat == "read_back"
                else f"acknowledged block(s) {observed} after recovery")
        listed = ", ".join(map(str, offsets[:MAX_OFFSETS_LISTED]))
        more = f" (+{len(offsets) - MAX_OFFSETS_LISTED} more)" if len(offsets) > MAX_OFFSETS_LISTED else ""
        out.append({"probe": "smb_rw", "phase": phase, "stat": stat, "observed_us": None,
                    "limit_us": None, "client": client, "offset": offsets[0],
                    "offsets": offsets[:MAX_OFFSETS_LISTED], "blocks": len(offsets),
                    "observed": observed, "limit": "as acknowledged",
                    "detail": f"{client}: {what}, {len(offsets)} block(s) at offset {listed}{more} "
                              f"(written in {phase})"})
    out.sort(key=lambda v: (v["client"], v["offset"]))
    return out
