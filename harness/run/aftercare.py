"""After the clients have gone: re-read what the server acknowledged, remove what the run left
on the share, and take the server's own log of the run into the history."""

from __future__ import annotations

import os
from pathlib import Path

from harness.checkers.writes import acknowledged_writes, blocks_to_verify
from harness.clients import readback, scratch
from harness.clients.holdings import held_file_name
from harness.errors import HarnessError
from harness.history import HistoryWriter, read_events
from harness.lab.inns import call_in_netns
from harness.run.spawn import Client
from harness.scenario.model import Scenario
from harness.targets.base import Target


def verify_writes(scenario: Scenario, target: Target, events_dir: Path, log: HistoryWriter) -> None:
    """After the recovery phase: re-read every block whose write the server acknowledged (the
    healthy clients' smb_rw, the victim's own data before its drop), from a fresh session, and
    record what is there (one ``verify`` event per file); judged by harness.checkers.writes."""
    parts = sorted(events_dir.glob("events-c*.jsonl")) + sorted(
        events_dir.glob("events-victim.jsonl")
    )
    events = [e for p in parts for e in read_events(p)]
    files = blocks_to_verify(acknowledged_writes(events))
    if not files:
        return
    try:
        found = call_in_netns(
            target.client_netns("healthy"),
            readback.reread,
            target.endpoint,
            files,
            readback.READBACK_TIMEOUT_S,
            scenario.dialect,
            timeout_s=4 * readback.READBACK_TIMEOUT_S + len(files),
        )
    except HarnessError as exc:
        found = [{"file": f, "blocks": {}, "error": str(exc)} for f in files]
    for entry in found:
        log.write("verify", **entry)


def sweep_scratch(
    scenario: Scenario, target: Target, clients: list[Client], events_dir: Path, log: HistoryWriter
) -> None:
    """Remove the scratch files and directories this run's clients left on the share, and
    the run's held files (each victim creates its own before taking its holding)."""
    victims = range(1, scenario.victims + 1) if scenario.victim else range(0)
    held = tuple(held_file_name(os.getpid(), events_dir.name, v) for v in victims)
    # Only processes that had a session created any; one that never said ready (its set-up
    # failed: a victim whose holding was refused) may have, before it failed.
    pids = [
        c.proc.pid
        for c in clients
        if c.spec.role != "canary" and c.proc.pid and (c.info is None or "peer" in c.info)
    ]
    if not clients or (not pids and not held):
        return
    try:
        swept = call_in_netns(
            target.client_netns("healthy"),
            scratch.sweep,
            target.endpoint,
            pids,
            scratch.SWEEP_TIMEOUT_S,
            scenario.dialect,
            scenario.transport,
            held,
            events_dir.name,
            timeout_s=2 * scratch.SWEEP_TIMEOUT_S + scratch.SWEEP_WAIT_S,
        )
    except HarnessError as exc:
        log.write("info", note=f"scratch files not removed: {exc}")
        return
    log.write("scratch", **swept)


def record_server_events(target: Target, log: HistoryWriter) -> None:
    """What the server logged during the run, each on the run's clock where it has a time."""
    for e in target.server_events():
        t = e.pop("t_monotonic", None)
        log.write("server", t_s=None if t is None or log.t0 is None else t - log.t0, **e)
