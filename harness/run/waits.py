"""What the server was doing to the victim while the healthy clients waited, gathered during
the run for harness.checkers.waits:

- ``TableSampler``: the server's own open, lock, oplock and lease tables (``smbstatus``, on
  servers the harness runs), the entries on the run's held file and the victim's, sampled
  before the start, and then: in a run whose victim holds something (its time to access is
  judged), just after the drop and every ``SAMPLE_INTERVAL_S`` until the end of the run; in
  any other run once more after the end, so that it spawns no process while it measures
  (``server_tables`` events);
- ``record_breaks``: from the run's packet capture, every oplock or lease break the server
  sent the victim, with when its TCP and the victim acknowledged it (``victim_break``
  events, and one ``victim_breaks`` event saying whether there was a capture at all).
"""

from __future__ import annotations

import threading
import time

from harness.history import HistoryWriter
from harness.lab.inns import start_without_signals
from harness.lab.smbstatus import tables, victim_pids
from harness.packets.smb2_breaks import breaks_to
from harness.targets.base import Target

# One smbstatus costs about 45 ms of CPU and 50-70 ms of wall time on the 2-core lab (Samba
# 4.17, a handful of sessions): one every 2 s is about 2 % of one core.
SAMPLE_INTERVAL_S = 2.0
# The drop's sample, this long after it: not competing with the drop itself for the CPU.
AFTER_DROP_S = 0.1
STOP_WAIT_S = 10.0


class TableSampler:
    """Samples ``target.server_tables()`` in a thread of its own, at normal priority (the
    tool is a process the thread starts), writing ``server_tables`` events."""

    def __init__(
        self,
        target: Target,
        log: HistoryWriter,
        victim: str | None,
        held_file: str | None,
        own_mark: str | None,
        drop_at_s: float,
        until_s: float,
        interval_s: float = SAMPLE_INTERVAL_S,
        during: bool = True,
    ) -> None:
        self.target, self.log = target, log
        self.victim, self.held_file, self.own_mark = victim, held_file, own_mark
        self.drop_at_s, self.until_s, self.interval_s = drop_at_s, until_s, interval_s
        self.during = during  # sample in the timed phases (else once more after the end)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nbth-tables", daemon=True)
        self._pids: list[str] | None = None
        self._available = False  # the first sample came (the tool answers)
        self._before: tuple[float, dict | None] | None = None

    def before(self) -> TableSampler:
        """The first sample, in the caller's thread before the run's t0 is fixed (so that the
        tool's process never runs in the timed phases' first moments): the victim is who
        holds what it holds now. Kept until ``start`` writes it."""
        self._before = (time.monotonic(), self.target.server_tables())
        if self._before[1] is not None:
            self._pids = victim_pids(self._before[1], self.victim, self.held_file, self.own_mark)
        return self

    def start(self) -> TableSampler:
        """Write the first sample (``before`` it if not yet taken), then (``during``) sample
        from just after the drop to the end of the run in a thread."""
        if self._before is None:
            self.before()
        at, doc = self._before or (time.monotonic(), None)
        self._available = self._write("before", at - (self.log.t0 or at), doc)
        if self._available and self.during:
            start_without_signals(self._thread)
        return self

    def _write(self, when: str, t_s: float, doc: dict | None) -> bool:
        if doc is None:
            self.log.write("server_tables", t_s=t_s, when=when, available=False)
            return False
        self.log.write(
            "server_tables",
            t_s=t_s,
            when=when,
            available=True,
            victim_pids=self._pids or [],
            **tables(doc, self._pids or [], self.held_file),
        )
        return True

    def _run(self) -> None:
        if self._stop.wait(max(0.0, self.drop_at_s + AFTER_DROP_S - self.log.now_s())):
            return
        when = "drop"
        while not self._stop.is_set() and self.log.now_s() <= self.until_s:
            if not self._write(when, self.log.now_s(), self.target.server_tables()):
                return
            when = "fault"
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> None:
        """End the sampling; without ``during``, take the one sample after the run's end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)
        if not self.during and self._available:
            self._write("end", self.log.now_s(), self.target.server_tables())


def record_breaks(capture, victim: str | None, log: HistoryWriter) -> None:
    """The breaks the server sent ``victim`` ("addr:port") in the running ``capture``
    (harness.lab.capture.PacketCapture, or None), on the run's clock."""
    t0 = log.t0
    if victim is None or t0 is None:
        return
    if capture is None:
        log.write("victim_breaks", captured=False, victim=victim)
        return
    addr, port = victim.rsplit(":", 1)
    wall_minus_monotonic = time.time() - time.monotonic()
    frames = capture.frames()

    def run_clock(t_wall: float | None) -> float | None:
        return None if t_wall is None else round(t_wall - wall_minus_monotonic - t0, 6)

    found = breaks_to(((f.t_s, f.data) for f in frames), (addr, int(port)))
    log.write(
        "victim_breaks",
        captured=True,
        victim=victim,
        count=len(found),
        frames=len(frames),
        ring_dropped=capture.ring.dropped,
    )
    for b in found:
        times = ("sent_s", "tcp_acked_s", "acked_s", "answered_s")
        log.write(
            "victim_break",
            t_s=run_clock(b["sent_s"]),
            **{k: (run_clock(v) if k in times else v) for k, v in b.items()},
        )


def victim_address(clients) -> str | None:
    """The victim's own address ("addr:port") once it said ready, else None."""
    victim = next((c for c in clients if c.spec.role == "victim"), None)
    return (victim.info or {}).get("local") if victim else None


def sampler_for(scenario, target: Target, victim, drop, log: HistoryWriter) -> TableSampler | None:
    """For a scenario with a victim and a drop: a sampler of the server's tables, its first
    sample taken (call before the run's t0 is fixed; ``start`` it after)."""
    if victim is None or drop is None:
        return None
    holding = victim.ready.get("holding") or {}
    phases = scenario.phases
    # only where a time to access is judged does a sample inside the timed phases tell more
    # than the noise of the process it starts costs the other figures
    return TableSampler(
        target,
        log,
        victim.ready.get("local"),
        holding.get("file"),
        f"-{victim.proc.pid}-",  # the victim's own files (harness.clients.scratch)
        phases.fault_start_s,
        phases.total_s,  # while the last operations may still wait
        during=bool(holding),
    ).before()
