"""A victim of several drops (``victims = N``, a [schedule]: harness.scenario.fault_schedule).
Its drops come in time order: before each it tells the runner which session the drop will
act on (``ARMED``), at the drop's time it acts (``start``, ``end`` in the history, ``DROPPED``
to the runner), keeps the drop up until shortly before its next one (or the run's end),
releases it, and logs on again on a new connection for the next. A victim that cannot log
on again before a drop's time records that drop as not started (the verdict names it)."""

from __future__ import annotations

import time

from harness.clients.session import describe_error, open_session
from harness.history import HistoryWriter
from harness.procs.openloop import sleep_until
from harness.procs.protocol import armed, await_watching, dropped
from harness.procs.worker_spec import WorkerSpec

# A victim releases a drop this long before its next one and logs on again (one victim's
# drops are at least fault_schedule.MIN_GAP_S apart).
REARM_S = 0.8
WATCHING_WAIT_S = 2.0  # for the runner to take the server's row of the new session
RETRY_S = 0.1  # between two logon attempts


def log_on_again(spec: WorkerSpec, until_monotonic: float):
    """A new session (and None), or None and why none came before ``until_monotonic``."""
    why = "no time left"
    while time.monotonic() < until_monotonic:
        try:
            session = open_session(
                spec.endpoint, f"NBTH-{spec.name}", spec.timeout_s, spec.dialect, spec.transport
            )
            return session, None
        except Exception as exc:  # noqa: BLE001 recorded as the drop's reason
            why = describe_error(exc, spec.endpoint)
        time.sleep(RETRY_S)
    return None, why


def run_scheduled(spec: WorkerSpec, session, writer: HistoryWriter, t0: float, conn) -> None:
    """Act the victim's drops (``spec.scheduled``) at their times, one session each."""
    fault_end = t0 + spec.phases.fault_start_s + spec.phases.fault_s
    for k, (planned, drop) in enumerate(spec.scheduled):
        drop.fault_end_monotonic = fault_end
        common = {"index": planned.index, "mode": drop.mode}
        if session is None:
            session, why = log_on_again(spec, t0 + planned.at_s)
            if session is not None:
                try:
                    drop.prepare(session)
                except Exception as exc:  # noqa: BLE001 the drop cannot act on it
                    why = describe_error(exc, spec.endpoint)
                    drop.release(session)
                    session = None
            if session is None:
                writer.write(
                    "drop",
                    event="not_started",
                    **common,
                    reason=f"the victim could not log on again before its drop: {why}",
                )
                armed(conn, planned.index, None)
                continue
        armed(conn, planned.index, session.local_addr())
        await_watching(
            conn, planned.index, WATCHING_WAIT_S
        )  # else its evidence has no row to start from
        sleep_until(t0, planned.at_s)
        writer.write("drop", event="start", **common, wire=drop.wire)
        last = k + 1 == len(spec.scheduled)
        until_s = spec.phases.total_s if last else spec.scheduled[k + 1][0].at_s - REARM_S
        try:
            detail = drop.act(session)
            writer.write("drop", event="end", **common, detail=detail)
            dropped(conn, {**detail, "index": planned.index})

            def record(event, common=common, **kw):
                writer.write("drop", event=event, **common, **kw)

            drop.during(session, t0 + until_s, record)
            sleep_until(t0, until_s)
        finally:
            try:
                drop.release(session)
            except Exception:  # noqa: BLE001 a second release is best effort
                pass
            session = None
