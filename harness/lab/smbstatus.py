"""What Samba's own tables say of one run's files and of the victim, from ``smbstatus --json
--byterange`` (Samba 4.16 and later): the opens (share mode, access, oplock or lease), and the
byte-range locks. Pure: the tool's JSON in, one compact record for the history out.

Which entries are the victim's: those of the smbd process serving the session whose client
address is the victim's (``hostname`` "ipv4:ADDR:PORT"), and, where the victim's connection
reaches Samba through something else (the replica's relay), those of the processes holding
the run's held file or a file of the victim's own when the first sample is taken, before any
healthy client starts.
"""

from __future__ import annotations

MAX_ENTRIES = 8  # opens, and locks, kept per sample: the held file's and the victim's


def _pid(entry: dict) -> str:
    return str((entry.get("server_id") or {}).get("pid", ""))


def victim_pids(
    doc: dict, victim: str | None, held_file: str | None, own_mark: str | None = None
) -> list[str]:
    """The smbd processes serving the victim: by its session's client address, else (no such
    session: a relay in between) by who holds ``held_file`` or a file of the victim's own
    (a name starting ``nbth-`` that holds ``own_mark``: harness.clients.scratch) now."""
    if victim:
        pids = sorted(
            {
                _pid(s)
                for s in (doc.get("sessions") or {}).values()
                if str(s.get("hostname", "")).endswith(f":{victim}")
            }
        )
        if pids:
            return pids

    def victims(name: str) -> bool:
        mine = bool(own_mark) and name.startswith("nbth-") and str(own_mark) in name
        return mine or (held_file is not None and name == held_file)

    return sorted(
        {
            _pid(o)
            for f in (doc.get("open_files") or {}).values()
            if victims(str(f.get("filename", "")))
            for o in (f.get("opens") or {}).values()
        }
    )


def _text(d: dict | None) -> str | None:
    return (d or {}).get("text") or None


def _entries(
    files: dict, name_key: str, items: str, fields, pids: list[str], held_file: str | None
) -> list[dict]:
    """The entries (``items`` of each file in ``files``) on ``held_file`` or of the victim's
    processes ``pids``: file, pid, victim, and ``fields(entry)``; at most MAX_ENTRIES."""
    out = []
    for f in files.values():
        name = f.get(name_key)
        listed = f.get(items) or []
        for e in listed.values() if isinstance(listed, dict) else listed:
            pid = _pid(e)
            if name == held_file or pid in pids:
                out.append({"file": name, "pid": pid, "victim": pid in pids, **fields(e)})
    return out[:MAX_ENTRIES]


def _open_fields(o: dict) -> dict:
    return {
        "share": _text(o.get("sharemode")) or "none",
        "access": _text(o.get("access_mask")),
        "oplock": _text(o.get("oplock")),
        "lease": _text(o.get("lease")),
    }


def _lock_fields(lk: dict) -> dict:
    return {"type": lk.get("type"), "start": lk.get("start"), "size": lk.get("size")}


def tables(doc: dict, pids: list[str], held_file: str | None) -> dict:
    """{opens: [{file, pid, victim, share, access, oplock, lease}], locks: [{file, pid,
    victim, type, start, size}], sessions}: the entries on ``held_file`` and those of the
    victim's processes ``pids``, at most MAX_ENTRIES of each."""
    open_files = doc.get("open_files") or {}
    locked_files = doc.get("byte_range_locks") or {}
    return {
        "opens": _entries(open_files, "filename", "opens", _open_fields, pids, held_file),
        "locks": _entries(locked_files, "file_name", "locks", _lock_fields, pids, held_file),
        "sessions": len(doc.get("sessions") or {}),
    }
