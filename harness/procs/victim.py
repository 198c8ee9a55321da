"""The victim's run: its own data written before the drop (harness.clients.victim_data),
then its drop acted at the fault's start, kept up during the fault and always released."""

from __future__ import annotations

import socket
import time
from typing import Any

from harness.clients.victim_data import LEAD_S, UNFLUSHED_LEAD_S
from harness.history import INVOKE, OK, HistoryWriter
from harness.packets.inet_diag import parse_tcp_info
from harness.procs.openloop import complete, sleep_until
from harness.procs.protocol import dropped
from harness.procs.worker_spec import WorkerSpec


def _bytes_acked(sock) -> int | None:
    """What the peer's TCP has acknowledged of what this socket sent (tcp_info)."""
    try:
        return parse_tcp_info(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)).get(
            "bytes_acked"
        )
    except OSError:
        return None


def _write_victim_data(
    spec: WorkerSpec, operations, writer: HistoryWriter, t0: float, first_seq: int
) -> int:
    """Part of the victim's own data (harness.clients.victim_data), each operation an
    invocation and a completion in the history, role ``victim``, in turn as fast as answered
    (no schedule); stops at the first that does not succeed. Returns the next seq."""
    for seq, (probe, operation) in enumerate(operations, first_seq):
        intended_s = time.monotonic() - t0
        common: dict[str, Any] = {"probe": probe, "seq": seq, "role": spec.role}
        writer.write(
            INVOKE,
            phase=spec.phases.phase_at(intended_s),
            intended_s=round(intended_s, 6),
            **common,
        )
        if complete(spec, writer, t0, intended_s, time.monotonic(), operation, common) != OK:
            return -1
    return first_seq + len(operations)


def run_victim(
    spec: WorkerSpec, session, drop, writer: HistoryWriter, t0: float, conn, data=None
) -> None:
    drop.fault_end_monotonic = t0 + spec.phases.fault_start_s + spec.phases.fault_s
    sent_bytes = None
    if (
        data is not None
    ):  # its own data: flushed at the warm-up's end, one write just before the drop
        acked_before = _bytes_acked(session.sock)
        sleep_until(t0, max(0.0, spec.phases.warmup_s - LEAD_S))
        seq = _write_victim_data(spec, data.flushed_part(), writer, t0, 0)
        sleep_until(t0, max(0.0, spec.phases.fault_start_s - UNFLUSHED_LEAD_S))
        if seq >= 0:
            _write_victim_data(spec, data.unflushed_part(), writer, t0, seq)
        acked_after = _bytes_acked(session.sock)
        if acked_before is not None and acked_after is not None:
            sent_bytes = acked_after - acked_before
    sleep_until(t0, spec.phases.fault_start_s)
    writer.write("drop", event="start", mode=drop.mode, wire=drop.wire)
    released = False
    try:
        detail = drop.act(session)
        if sent_bytes is not None:  # what the server received from the victim since set-up
            detail = {**detail, "sent_before_drop_bytes": sent_bytes}
        writer.write("drop", event="end", mode=drop.mode, detail=detail)
        dropped(conn, detail)

        def record(event, **kw):
            writer.write("drop", event=event, mode=drop.mode, **kw)

        drop.during(session, t0 + spec.phases.total_s, record)
        sleep_until(t0, spec.phases.total_s)
        released = True
        drop.release(session)
    finally:
        if not released:  # act() or during() broke: what act() applied must still go
            try:
                drop.release(session)
            except Exception:  # noqa: BLE001 a second release is best effort
                pass
