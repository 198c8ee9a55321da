"""Progress of a run, shown while it runs: scenario i of n, phase, elapsed of total seconds,
operations and errors so far.

Everything is derived in the runner's process: the probe processes do no extra I/O for it.
A thread wakes a few times a second, reads what the healthy clients appended to their event
files since its last look (only the new bytes), and counts completions. On a terminal it
redraws one line on stderr; elsewhere it prints a plain line on stdout when the phase changes.
``progress_line`` and ``count_completions`` are pure.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.lab.inns import start_without_signals
from harness.procs.canary import CANARIES

TTY_INTERVAL_S = 0.25  # redraws per second on a terminal: at most 4
PLAIN_INTERVAL_S = 1.0  # how often to look for a phase change otherwise
# Files whose events are not the healthy clients' operations.
SKIPPED_FILES = (
    "events-runner.jsonl",
    "events-victim.jsonl",
    *(f"events-{name}.jsonl" for name, _ in CANARIES),
)
_ERROR_MARKS = (b'"type":"fail"', b'"type":"info"')


def count_completions(chunk: bytes) -> tuple[int, int]:
    """(operations completed, of which errors) in complete JSON lines of event-file bytes."""
    ops = errors = 0
    for line in chunk.splitlines():
        if b'"type":"ok"' in line:
            ops += 1
        elif any(mark in line for mark in _ERROR_MARKS):
            ops += 1
            errors += 1
    return ops, errors


@dataclass
class State:
    index: int = 0  # 1-based scenario number
    total: int = 0
    scenario: str = ""
    spans: list = field(default_factory=list)  # (phase, start_s, end_s)
    elapsed_s: float | None = None  # since the run's t0; None before the clients started
    ops: int = 0
    errors: int = 0


def phase_of(spans: list, elapsed_s: float | None) -> str:
    if elapsed_s is None:
        return "starting"
    if elapsed_s < 0:
        return "starting"
    for name, start, end in spans:
        if start <= elapsed_s < end:
            return name
    return "finishing"


def progress_line(state: State) -> str:
    """'[2/9] rst: fault 4.1/10.5 s, 312 ops, 0 errors'."""
    total_s = spans_total_s(state.spans)
    phase = phase_of(state.spans, state.elapsed_s)
    elapsed = 0.0 if state.elapsed_s is None else min(max(state.elapsed_s, 0.0), total_s)
    return (
        f"[{state.index}/{state.total}] {state.scenario}: {phase} {elapsed:.1f}/{total_s:.1f} s, "
        f"{state.ops} ops, {state.errors} errors"
    )


def spans_total_s(spans: list) -> float:
    return spans[-1][2] if spans else 0.0


class Progress:
    """Shows one run's progress; ``live`` redraws a line on ``tty``, else plain lines on
    ``out`` at each phase change. ``enabled=False`` shows nothing (``--quiet``)."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        live: bool | None = None,
        tty: TextIO | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.tty = tty or sys.stderr
        self.out = out or sys.stdout
        self.enabled = enabled
        self.live = self.tty.isatty() if live is None else live
        self.state = State(total=total)
        self._lock = threading.Lock()
        self._run_dir: Path | None = None
        self._t0: float | None = None
        self._offsets: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_phase = ""
        self._drawn = False

    # --- called by the command ------------------------------------------------------------

    def scenario(self, index: int, name: str, run_dir: Path, spans: list) -> None:
        """A scenario begins (its clients are not started yet)."""
        with self._lock:
            self.state = State(index=index, total=self.state.total, scenario=name, spans=spans)
            self._run_dir, self._t0, self._offsets, self._last_phase = run_dir, None, {}, ""
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="nbth-progress", daemon=True)
            start_without_signals(self._thread)

    def started(self, t0_monotonic: float, events_dir: Path | None = None) -> None:
        """The runner's callback: the clients' shared t0 is known, and where their event
        files are written."""
        with self._lock:
            self._t0 = t0_monotonic
            if events_dir is not None:
                self._run_dir = events_dir

    def done(self) -> None:
        """The scenario ended: stop showing it and remove the live line (before the table)."""
        with self._lock:
            self._run_dir = None
            self._clear_locked()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.done()

    # --- the thread -------------------------------------------------------------------------

    def _loop(self) -> None:
        interval_s = TTY_INTERVAL_S if self.live else PLAIN_INTERVAL_S
        while not self._stop.wait(interval_s):
            try:
                self.tick()
            except (OSError, ValueError):  # a closed stream, a vanished file: not worth a crash
                pass

    def tick(self) -> None:
        """Count new completions, then redraw (live) or print a line on a phase change."""
        with self._lock:
            if self._run_dir is None:
                return
            ops, errors = self._read_new(self._run_dir)
            self.state.ops += ops
            self.state.errors += errors
            if self._t0 is not None:
                self.state.elapsed_s = time.monotonic() - self._t0
            line = progress_line(self.state)
            if self.live:
                self.tty.write("\r" + line + "\x1b[K")
                self.tty.flush()
                self._drawn = True
                return
            phase = phase_of(self.state.spans, self.state.elapsed_s)
            if phase != self._last_phase:
                self._last_phase = phase
                self.out.write(f"progress {line}\n")
                self.out.flush()

    def _read_new(self, run_dir: Path) -> tuple[int, int]:
        ops = errors = 0
        for path in run_dir.glob("events-*.jsonl"):
            if path.name in SKIPPED_FILES:
                continue
            offset = self._offsets.get(path, 0)
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1  # a torn last line is read next time
            if end:
                self._offsets[path] = offset + end
                o, e = count_completions(chunk[:end])
                ops += o
                errors += e
        return ops, errors

    def _clear_locked(self) -> None:
        if self._drawn:
            self.tty.write("\r\x1b[K")
            self.tty.flush()
            self._drawn = False
