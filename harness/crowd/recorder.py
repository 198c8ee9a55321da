"""What a crowd worker measures: one HdrHistogram per phase x operation of the successful
operations' latencies, with counts of failed ones. Pure (no locust, no I/O); the worker
process feeds it and ships ``report()`` to the master.

An operation belongs to the phase it started in, except one started in a phase that is not
judged (warm-up, baseline) and ended in a judged one (fault, recovery): it belongs to the
first judged phase (as the probes' operations, harness.checkers.ops). The fault touched it
(it was in flight at the drop, or started in the moment between the drop and the worker's
hearing of the phase change), and in the baseline it would raise the limits the fault is
judged by. One still in flight when the report is made is counted as an error of the phase
it started in (unanswered): a stalled operation is a failure, never a dropped sample.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from hdrh.histogram import HdrHistogram

from harness.checkers import histograms
from harness.schedule import JUDGED_PHASES

UNANSWERED = "unanswered when the worker reported"


class Recorder:
    """Per phase x operation: latencies (µs, successes) and errors (failed, unanswered)."""

    def __init__(self) -> None:
        self.phase = "setup"  # before the master's first phase message
        self._first_judged: str | None = None  # the first judged phase the master announced
        self._hists: dict[tuple[str, str], HdrHistogram] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._errors: Counter[tuple[str, str]] = Counter()
        self._error_text: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self._in_flight: dict[int, tuple[str, str]] = {}
        self._tokens = itertools.count(1)

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        if phase in JUDGED_PHASES and self._first_judged is None:
            self._first_judged = phase

    @property
    def in_flight(self) -> int:
        """Operations begun and not yet ended."""
        return len(self._in_flight)

    def begin(self, op: str) -> int:
        """An operation starts now, in the current phase; its token for ``end``."""
        token = next(self._tokens)
        self._in_flight[token] = (self.phase, op)
        return token

    def end(self, token: int, latency_us: float, error: str | None = None) -> None:
        """The operation of ``token`` ended: ok with its latency, or failed with ``error``."""
        key = self._in_flight.pop(token, None)
        if key is None:  # already counted as unanswered by a report
            return
        if key[0] not in JUDGED_PHASES and self.phase in JUDGED_PHASES and self._first_judged:
            key = (self._first_judged, key[1])  # the fault touched it (see the module's text)
        self._counts[key] += 1
        if error is not None:
            self._errors[key] += 1
            self._error_text[key][" ".join(error.split())[:160]] += 1
            return
        h = self._hists.get(key)
        if h is None:
            h = self._hists[key] = histograms.new()
        value = min(max(round(latency_us), histograms.LOWEST_US), histograms.HIGHEST_US)
        h.record_value(value)

    def report(self) -> dict:
        """{phase: {op: {count, errors, hdr, top_error}}}; operations in flight become
        errors of their phase (and are not counted again when they end)."""
        for key in self._in_flight.values():
            self._counts[key] += 1
            self._errors[key] += 1
            self._error_text[key][UNANSWERED] += 1
        self._in_flight.clear()
        out: dict[str, dict[str, dict]] = defaultdict(dict)
        for key in sorted(self._counts):
            phase, op = key
            h = self._hists.get(key)
            top = self._error_text[key].most_common(1)
            out[phase][op] = {
                "count": self._counts[key],
                "errors": self._errors[key],
                "hdr": histograms.encode(h) if h is not None else None,
                "top_error": f"{top[0][1]} x {top[0][0]}" if top else None,
            }
        return dict(out)
