"""The drop's evidence, from outside the victim: the server's side of the victim's connection
before the drop, then, once the victim says it dropped, proof that the server saw it (its
TCP table), or for a server the harness cannot look inside, what a capture of the victim's
flow on the harness's side shows. Each finding is a ``drop`` event in the history."""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.drops.base import Drop
from harness.history import HistoryWriter
from harness.lab.capture import FlowCapture
from harness.procs.protocol import poll_dropped
from harness.run.spawn import Client
from harness.scenario.model import Scenario
from harness.targets.base import ServerSocket, Target

EVIDENCE_POLL_S = 0.05
DROP_REPORT_POLL_S = 0.05
DROP_REPORT_WAIT_S = 10.0  # after the fault start, for the victim to say it dropped


@dataclass
class Watch:
    """What is known of the victim's connection before its drop: the server's row for it
    (None: the server cannot be looked inside, or had none), and the capture of its flow
    where the server cannot be looked inside."""

    before: ServerSocket | None = None
    capture: FlowCapture | None = None


def _victim_rows(target: Target, peer: str) -> list[ServerSocket] | None:
    rows = target.server_sockets()
    return None if rows is None else [r for r in rows if r.peer == peer]


def _peer_rows(target: Target, peers: list[str]) -> list[ServerSocket] | None:
    rows = target.server_sockets()
    return None if rows is None else [r for r in rows if r.peer in peers]


def watch(target: Target, victim: Client | None, log: HistoryWriter) -> Watch:
    """Before the start: the server's row of the victim's connection; where the server shows
    no table and the victim runs in the harness's own namespace, a capture of its flow."""
    if victim is None:
        return Watch()
    rows = _victim_rows(target, victim.ready["local"])
    w = Watch(before=rows[0] if rows else None)
    if rows is None and target.client_netns("victim") is None:
        try:
            w.capture = FlowCapture(victim.ready["local"], victim.ready["peer"]).start()
        except OSError as exc:  # no root: no AF_PACKET
            log.write("info", note=f"no capture of the victim's flow: {exc}")
    return w


def record_scheduled(
    log: HistoryWriter, scenario: Scenario, drop: Drop | None, victim: Client | None, w: Watch
) -> None:
    """The drop as scheduled (with the server's row before it), and what the server granted
    the victim at set-up."""
    if drop:
        log.write(
            "drop",
            event="scheduled",
            mode=drop.mode,
            at_s=scenario.phases.fault_start_s,
            victim=victim.ready.get("local") if victim else None,
            server_socket_before=w.before.to_json() if w.before else None,
        )
    if victim and victim.ready.get("holding"):
        log.write("holding", **victim.ready["holding"])


def collect(
    scenario: Scenario,
    target: Target,
    drop: Drop | None,
    victim: Client | None,
    w: Watch,
    log: HistoryWriter,
    t0: float,
) -> None:
    """Wait for the victim's drop, then poll for proof; the capture stops at the end."""
    if victim is None or drop is None:
        return
    try:
        _collect(scenario, target, drop, victim, w, log, t0)
    finally:
        if w.capture:
            w.capture.stop()


def _collect(
    scenario: Scenario,
    target: Target,
    drop: Drop,
    victim: Client,
    w: Watch,
    log: HistoryWriter,
    t0: float,
) -> None:
    before, capture = w.before, w.capture
    wait_until = t0 + scenario.phases.fault_start_s + DROP_REPORT_WAIT_S
    drop_at = t0 + scenario.phases.fault_start_s
    detail = None
    while time.monotonic() < wait_until:
        try:
            detail = poll_dropped(victim.conn, DROP_REPORT_POLL_S)
        except EOFError:  # the victim is gone
            break
        if detail is not None or not victim.proc.is_alive():
            break
    else:
        log.write(
            "drop", event="no_evidence", mode=drop.mode, reason="the victim never reported its drop"
        )
        return
    detail = detail or {}
    peer = victim.ready["local"]
    drop.victim_events_path = victim.spec.events_path  # for drops proven by the victim's record
    deadline = time.monotonic() + scenario.evidence_timeout_s
    rows: list | None = []
    while True:
        exitcode = victim.proc.exitcode
        # one lookup of the known connection (no table walk, no process) while the phases run
        rows = target.server_flow(before.local, peer) if before else _victim_rows(target, peer)
        if drop.watched_peers(detail):  # the drop's own connections (half_logon's)
            rows = _peer_rows(target, drop.watched_peers(detail) or [])
        if rows is None:  # a server the harness cannot look inside: its own side's capture
            found = capture and drop.client_evidence(capture.snapshot(), drop_at, detail, exitcode)
        else:
            found = drop.evidence(before, rows, detail, exitcode)
        if found:
            log.write("drop", event="evidence", mode=drop.mode, evidence=found)
            return
        if time.monotonic() > deadline:
            break
        time.sleep(EVIDENCE_POLL_S)
    if rows is None:
        seen = capture.snapshot() if capture else []
        flags = [f"{c.direction}:{c.segment.flags:#04x}" for c in seen if c.t_monotonic >= drop_at]
        why = (
            f"no evidence from the harness's side within {scenario.evidence_timeout_s:.1f}s "
            f"({len(seen)} segments of {peer} captured; after the drop: {flags[:12]})"
            if capture
            else f"target {target.name} offers no server-side view and no capture was possible"
        )
    else:
        why = (
            f"no server-side evidence within {scenario.evidence_timeout_s:.1f}s "
            f"(server rows for {peer}: {[r.state for r in rows] or 'none'}, "
            f"victim exit {victim.proc.exitcode})"
        )
    log.write("drop", event="no_evidence", mode=drop.mode, reason=why)
