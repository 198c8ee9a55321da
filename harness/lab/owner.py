"""Owner records: how ``cleanup`` proves that a leftover is this host's own, and dead.

Everything the harness makes on a host (namespaces, temp dirs, firewall rules, containers)
carries its owner's pid in its name, tag or label. A pid alone proves nothing: it may be
another pid namespace's, or reused since. So a harness process that makes anything first
writes an owner record, ``/run/nbt-harness/owners/<pid>.json``: its pid, its start time in
clock ticks since boot (/proc/PID/stat), its pid namespace and the boot id. ``judge`` then
says ``live``, ``dead`` (the record's process is gone: no process with that pid and start
time in this pid namespace, or another boot) or ``unknown`` (no record, or another pid
namespace's record: never removed by cleanup).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.files import atomic_write, unsafe_dir_reason

STATE_DIR = Path(os.environ.get("NBT_HARNESS_STATE_DIR") or "/run/nbt-harness") / "owners"
LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"
_registered_pid: int | None = None


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 and fields[0] != "Z" else None


def pid_namespace() -> int:
    return os.stat("/proc/self/ns/pid").st_ino


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def this_process() -> dict:
    pid = os.getpid()
    return {
        "pid": pid,
        "start_ticks": start_ticks(pid),
        "pidns": pid_namespace(),
        "boot_id": boot_id(),
    }


def register() -> None:
    """Write this process's owner record, once per process (before it makes anything).
    Where it cannot (not root), nothing it makes can be proven its own: cleanup keeps it."""
    global _registered_pid
    if _registered_pid == os.getpid():
        return
    try:
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        if unsafe_dir_reason(os.stat(STATE_DIR)) is None:
            atomic_write(STATE_DIR / f"{os.getpid()}.json", json.dumps(this_process()), mode=0o600)
            _registered_pid = os.getpid()
    except OSError:
        pass


def record_of(pid: int) -> dict | None:
    try:
        record = json.loads((STATE_DIR / f"{pid}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("pid") == pid else None


def judge(pid: int) -> tuple[str, str]:
    """(LIVE | DEAD | UNKNOWN, why) for things owned by ``pid`` on this host."""
    record = record_of(pid)
    if record is None:
        return UNKNOWN, f"no owner record for pid {pid}: not provably the harness's"
    if record.get("boot_id") != boot_id():
        return DEAD, "its owner ran before this boot"
    if record.get("pidns") != pid_namespace():
        return UNKNOWN, f"its owner (pid {pid}) ran in another pid namespace"
    if start_ticks(pid) == record.get("start_ticks"):
        return LIVE, f"its owner (pid {pid}) is running"
    return DEAD, f"its owner (pid {pid}) has ended"


def forget_dead() -> list[int]:
    """Remove the records of owners judged dead (call once nothing of theirs is left)."""
    gone = []
    for path in STATE_DIR.glob("*.json") if STATE_DIR.is_dir() else []:
        try:
            pid = int(path.stem)
        except ValueError:
            continue
        if judge(pid)[0] == DEAD:
            path.unlink(missing_ok=True)
            gone.append(pid)
    return gone
