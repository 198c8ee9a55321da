"""A client's operations, each timed and recorded in the history.

Probes run open-loop from the shared t0: each operation is timed from its intended send
time, and one that is already later than its timeout when its turn comes is recorded as
``info`` (not sent, blocked by an earlier operation) instead of being silently skipped.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from impacket.nmb import NetBIOSTimeout

from harness.clients.session import describe_error
from harness.errors import ProbeTimeout
from harness.history import FAIL, INFO, INVOKE, OK, HistoryWriter
from harness.probes import FROM_DROP_AFTER_S, PROBES
from harness.probes.timing import send_at
from harness.procs.worker_spec import WorkerSpec
from harness.schedule import merged_schedule

# An operation whose outcome is unknown (recorded as ``info``): impacket's NBT layer raises
# NetBIOSTimeout where a socket would raise socket.timeout.
TIMEOUTS = (ProbeTimeout, socket.timeout, TimeoutError, NetBIOSTimeout)


def sleep_until(t0: float, t_s: float) -> None:
    delay = t0 + t_s - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def run_probes(spec: WorkerSpec, probes: dict, writer: HistoryWriter, t0: float) -> None:
    """Each operation: its invocation is written before the wait (an invocation with no
    completion is a stall), the operation alone is timed, the completion written after with
    the intended, sent and completed times."""
    from_drop = {p for p in spec.rates_hz if PROBES[p].from_drop}
    for intended_s, probe, seq in merged_schedule(spec.rates_hz, spec.phases.total_s, spec.stagger):
        if probe in from_drop and intended_s < spec.phases.fault_start_s + FROM_DROP_AFTER_S:
            continue  # before the drop it would disturb the victim (e.g. break its oplock)
        phase = spec.phases.phase_at(intended_s)
        common: dict[str, Any] = {"probe": probe, "seq": seq, "role": spec.role}
        writer.write(INVOKE, phase=phase, intended_s=round(intended_s, 6), **common)
        operation = probes[probe].invoke
        sent = send_at(t0 + intended_s, spec.spin_s)
        if sent - t0 - intended_s > spec.timeout_s:
            writer.write(
                INFO,
                latency_us=None,
                error="not sent: blocked by an earlier operation past the timeout",
                **common,
            )
            continue
        complete(spec, writer, t0, intended_s, sent, operation, common)


def complete(
    spec: WorkerSpec,
    writer: HistoryWriter,
    t0: float,
    intended_s: float,
    sent: float,
    operation,
    common: dict,
) -> str:
    """Run one operation (sent at monotonic ``sent``) and write its completion with the
    intended, sent and completed times; return its outcome (ok, fail, info)."""
    outcome, error = OK, None
    try:
        detail = operation()  # a probe may say what it did (a dict: the completion's detail)
        end = time.monotonic()
    except TIMEOUTS as exc:
        end = time.monotonic()
        outcome, error, detail = INFO, f"timeout: {exc}"[:200], getattr(exc, "detail", None)
    except Exception as exc:  # noqa: BLE001 any failure of the operation is a failed probe
        end = time.monotonic()  # describing the error is not part of the operation
        outcome, error, detail = (
            FAIL,
            describe_error(exc, spec.endpoint),
            getattr(exc, "detail", None),
        )
    sent_s, end_s = sent - t0, end - t0
    writer.write(
        outcome,
        t_s=end_s,
        latency_us=round((end_s - intended_s) * 1e6, 1),
        sent_s=round(sent_s, 6),
        service_us=round((end - sent) * 1e6, 1),
        error=error,
        **common,
        **({"detail": detail} if isinstance(detail, dict) else {}),
    )
    return outcome
