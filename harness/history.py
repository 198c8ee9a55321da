"""The run's history: append-only JSON lines, one event per line, times relative to t0.

Every probe operation is written twice: an ``invoke`` before it is sent and a completion
(``ok``, ``fail``, or ``info`` when the outcome is unknown, e.g. a timeout) after. An
invocation with no completion is a stall, never a dropped sample. Drops write ``drop``
events (start, end, evidence, no_evidence); the runner writes ``run`` and ``error`` events.
Each process writes its own file (no locks, nothing lost if a process is killed); the
runner merges them into ``history.jsonl`` in time order.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.files import atomic_write

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
COMPLETIONS = (OK, FAIL, INFO)


class HistoryWriter:
    """Writes one process's events, line-buffered and flushed, stamped with t_s since t0."""

    def __init__(self, path: str | Path, process: str, t0_monotonic: float | None = None) -> None:
        self.path = Path(path)
        self.process = process
        self.t0 = t0_monotonic
        self._file = open(self.path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 until close()
        self._lock = threading.Lock()  # a shared prober's threads write one event at a time

    def set_t0(self, t0_monotonic: float) -> None:
        self.t0 = t0_monotonic

    def now_s(self) -> float:
        return time.monotonic() - (self.t0 if self.t0 is not None else 0.0)

    def write(self, type_: str, t_s: float | None = None, **fields) -> dict:
        event = {
            "t_s": round(self.now_s() if t_s is None else t_s, 6),
            "type": type_,
            "process": self.process,
            **fields,
        }
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
        return event

    def close(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except (OSError, ValueError):
            pass
        self._file.close()


def read_events(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a process killed mid-line leaves a torn last line


def merge(parts: Iterable[Path], out: Path) -> list[dict]:
    """Merge per-process event files into one history file ordered by t_s (written whole,
    by harness.files.atomic_write)."""
    events = [e for p in parts if Path(p).exists() for e in read_events(Path(p))]
    events.sort(key=lambda e: e.get("t_s", 0.0))
    atomic_write(out, "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    return events
