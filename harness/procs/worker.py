"""A client process: enters its host's namespace, sets up, then runs its schedule.

It talks with the runner over a pipe (harness.procs.protocol): ready, the shared t0, the
victim's drop, done. What it is given: harness.procs.worker_spec; its operations, timed and
recorded open-loop: harness.procs.openloop; the victim's run: harness.procs.victim.
"""

from __future__ import annotations

import ast
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from harness.clients.holdings import held_file_name, take
from harness.clients.priority import raise_priority
from harness.clients.scratch import set_run_marker
from harness.clients.session import describe_error, open_session
from harness.clients.victim_data import VictimData
from harness.history import HistoryWriter
from harness.lab.inns import die_with_parent, release_held_signals
from harness.lab.netns import enter_netns
from harness.probes import PROBES, ProbeContext
from harness.procs.openloop import run_probes, sleep_until
from harness.procs.protocol import done, ready_then_start, setup_failed
from harness.procs.victim import run_victim
from harness.procs.victims import run_scheduled
from harness.procs.worker_spec import WorkerSpec

# A shared prober's threads wait actively 0.5 ms, not 2 ms, before a send: their operations
# take milliseconds (a logon 20-40 ms), and 33 sends a second of the default run's shared
# probers spinning 2 ms each held a tenth of a core.
SHARED_SPIN_S = 0.0005
# Each answer of a client's session set-up (connect, NBT session request, NEGOTIATE,
# SESSION_SETUP, TREE_CONNECT) may take this long, not the probe timeout: set-up is not timed,
# and a server just started beside a dozen other runs answered a victim's connect in more
# than 2 s (CI at ef64db4: the docker-lock run errored before its drop, "connect to
# 172.17.0.4:139 (nbt) failed: NetBIOSTimeout"). The runner's deadline for all clients stays.
SESSION_SETUP_TIMEOUT_S = 10.0


def _build_probes(spec: WorkerSpec, session):
    holds = spec.victim_spec.holds if spec.victim_spec else None
    ctx = ProbeContext(
        spec.endpoint,
        spec.name,
        spec.timeout_s,
        session,
        holds=holds,
        held_file=held_file_name(spec.owner_pid, spec.run_tag) if holds else None,
        dialect=spec.dialect,
        transport=spec.transport,
    )
    probes = {name: PROBES[name].load().from_context(ctx) for name in spec.rates_hz}
    for p in probes.values():
        p.open()
    return probes


def _serialize_ast_parse() -> None:
    """One ast.parse at a time in this process: CPython 3.11 keeps ast.parse's recursion
    depth in state shared by every thread, and two threads parsing at once (traceback
    formatting parses source lines for its carets) raised SystemError "AST constructor
    recursion depth mismatch" in a shared prober's set-up."""
    if getattr(ast.parse, "serialized", False):
        return
    lock, parse = threading.Lock(), ast.parse

    def serialized_parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    serialized_parse.serialized = True  # type: ignore[attr-defined]
    ast.parse = serialized_parse


def _session_info(session) -> dict:
    """What the history's ``client`` event says of a session: its addresses, the dialect
    negotiated (checked against the one asked for) and whether it is encrypted."""
    return {
        "local": session.local_addr(),
        "dialect": session.dialect,
        "encrypted": session.encrypted,
        "peer": "{}:{}".format(*session.sock.getpeername()[:2]),
    }


def _build_shared(spec: WorkerSpec, info: dict) -> tuple[dict, list]:
    """A shared prober's probes, each with a session of its own where it needs one (named
    ``<process>_<probe>``, as its scratch files), set up in threads at once (a logon is
    mostly waiting for the server); its sessions. ``info`` gets a session's addresses and
    dialect (for the history's ``client`` event). The first error is raised."""

    # Loaded one after the other, before the threads: imports and parses are not run from
    # several threads at once (see _serialize_ast_parse).
    impls = {name: PROBES[name].load() for name in spec.rates_hz}

    def build(name: str):
        client = f"{spec.name}_{name}"
        session = None
        if PROBES[name].needs_session:
            session = open_session(
                spec.endpoint,
                f"NBTH-{client}",
                spec.timeout_s,
                spec.dialect,
                spec.transport,
                setup_timeout_s=SESSION_SETUP_TIMEOUT_S,
            )
        ctx = ProbeContext(
            spec.endpoint,
            client,
            spec.timeout_s,
            session,
            dialect=spec.dialect,
            transport=spec.transport,
        )
        probe = impls[name].from_context(ctx)
        probe.open()
        return probe, session

    _serialize_ast_parse()
    with ThreadPoolExecutor(max_workers=len(spec.rates_hz)) as pool:
        built = dict(zip(spec.rates_hz, pool.map(build, spec.rates_hz), strict=True))
    sessions = [session for _, session in built.values() if session is not None]
    if sessions:
        info.update(_session_info(sessions[0]))
    return {name: probe for name, (probe, _) in built.items()}, sessions


def _run_shared(spec: WorkerSpec, probes: dict, writer: HistoryWriter, t0: float) -> None:
    """Each probe's schedule in a thread of its own (all started before t0's first send):
    an operation the server holds blocks its own thread alone, in a socket wait that lets
    the others run. The interpreter switches threads every 0.5 ms, not 5 ms, so a thread's
    send is not held up by another's active wait."""
    sys.setswitchinterval(0.0005)
    errors: list[str] = []

    def run(name: str) -> None:
        one = replace(
            spec,
            rates_hz={name: spec.rates_hz[name]},
            spin_s=SHARED_SPIN_S,
            stagger=spec.staggers.get(name, spec.stagger),
        )
        try:
            run_probes(one, {name: probes[name]}, writer, t0)
        except Exception as exc:  # noqa: BLE001 recorded in the history, as worker_main does
            errors.append(f"{spec.name} {name}: {describe_error(exc, spec.endpoint)}")

    threads = [
        threading.Thread(target=run, args=(name,), name=name, daemon=True) for name in probes
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for error in errors:
        writer.write("error", error=error)


def worker_main(spec: WorkerSpec, conn) -> None:
    """Entry point of a client process (forked by the runner)."""
    die_with_parent(spec.owner_pid)  # a runner killed by SIGKILL takes its clients along
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when we stop
    release_held_signals()
    set_run_marker(spec.run_tag)  # this run's marker in every name it puts on the share
    writer = None
    session = None
    shared_sessions: list = []
    probes: dict = {}
    victim_data = None
    try:
        if spec.netns:
            enter_netns(spec.netns)
        writer = HistoryWriter(spec.events_path, spec.name)
        needs_session = spec.role == "victim" or (
            not spec.shared and any(PROBES[p].needs_session for p in spec.rates_hz)
        )
        info: dict[str, Any] = {"pid": os.getpid()}
        if spec.role == "healthy":  # their wake-ups are timed: see harness.clients.priority
            info["sched"] = raise_priority()
        drop = spec.drop
        if needs_session:
            session = open_session(
                spec.endpoint,
                f"NBTH-{spec.name}",
                spec.timeout_s,
                spec.dialect,
                spec.transport,
                setup_timeout_s=SESSION_SETUP_TIMEOUT_S,
            )
            info.update(_session_info(session))
        if spec.role == "victim":
            if drop is None or session is None:  # the runner gives the victim both
                raise RuntimeError("a victim without its drop or its session")
            drop.prepare(session)
            if spec.victim_spec:  # what it holds when it drops (harness.clients.holdings)
                info["holding"] = take(
                    session,
                    spec.victim_spec.holds,
                    held_file_name(spec.owner_pid, spec.run_tag, spec.victim_number),
                    spec.victim_spec.durable_timeout_ms,
                )
            if not spec.scheduled:  # its own file, written before the drop
                victim_data = VictimData(session)
                victim_data.open()
        elif spec.shared:
            probes, shared_sessions = _build_shared(spec, info)
        else:
            probes = _build_probes(spec, session)
    except Exception as exc:  # noqa: BLE001 any setup failure goes to the runner as one line
        setup_failed(conn, spec.name, spec.endpoint, exc)
    t0 = ready_then_start(conn, info, writer)
    try:
        if spec.scheduled:
            run_scheduled(spec, session, writer, t0, conn)
        elif spec.role == "victim":
            run_victim(spec, session, drop, writer, t0, conn, victim_data)
        else:
            if spec.shared:
                _run_shared(spec, probes, writer, t0)
            else:
                run_probes(spec, probes, writer, t0)
            # Close only once the phases are over (as a pool does): a 4 Hz probe's last
            # operation is 0.25 s before the end, and its logoff and the server's teardown
            # of that session then fell on the other clients' last judged probes.
            sleep_until(t0, spec.phases.total_s)
            for p in probes.values():
                p.close()
            for s in ([session] if session else []) + shared_sessions:
                s.close()
    except Exception as exc:  # noqa: BLE001 any failure is recorded in the history
        writer.write("error", error=f"{spec.name}: {describe_error(exc, spec.endpoint)}")
    done(writer, conn)
