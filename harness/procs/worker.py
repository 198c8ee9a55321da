"""A client process: enters its host's namespace, sets up, then runs its schedule.

It talks with the runner over a pipe (harness.procs.protocol): ready, the shared t0, the
victim's drop, done.
Probes run open-loop from the shared t0: each operation is timed from its intended send
time, and one that is already later than its timeout when its turn comes is recorded as
``info`` (not sent, blocked by an earlier operation) instead of being silently skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from impacket.nmb import NetBIOSTimeout

from harness.clients.holdings import held_file_name, take
from harness.clients.priority import raise_priority
from harness.clients.scratch import set_run_marker
from harness.clients.session import describe_error, open_session
from harness.clients.victim_data import LEAD_S, UNFLUSHED_LEAD_S, VictimData
from harness.drops.base import Drop
from harness.errors import ProbeTimeout
from harness.history import FAIL, INFO, INVOKE, OK, HistoryWriter
from harness.lab.inns import die_with_parent, release_held_signals
from harness.lab.netns import enter_netns
from harness.packets.inet_diag import parse_tcp_info
from harness.probes import FROM_DROP_AFTER_S, PROBES, ProbeContext
from harness.probes.timing import SPIN_S, send_at
from harness.procs.protocol import done, dropped, ready_then_start, setup_failed
from harness.schedule import Phases, merged_schedule
from harness.server import Endpoint

if TYPE_CHECKING:
    from harness.scenario.victim import VictimSpec

# A shared prober's threads wait actively 0.5 ms, not 2 ms, before a send: their operations
# take milliseconds (a logon 20-40 ms), and 33 sends a second of the default run's shared
# probers spinning 2 ms each held a tenth of a core.
SHARED_SPIN_S = 0.0005
# An operation whose outcome is unknown (recorded as ``info``): impacket's NBT layer raises
# NetBIOSTimeout where a socket would raise socket.timeout.
TIMEOUTS = (ProbeTimeout, socket.timeout, TimeoutError, NetBIOSTimeout)


@dataclass
class WorkerSpec:
    name: str  # process name in the history: nbstat, nbt_session, c1.., victim
    role: str  # healthy | victim
    netns: str | None
    endpoint: Endpoint
    events_path: str
    phases: Phases
    rates_hz: dict = field(default_factory=dict)
    timeout_s: float = 2.0
    stagger: float = 0.0
    spin_s: float = SPIN_S  # the active wait before each send (probes.timing)
    dialect: str = "smb3"  # a name of harness.dialects
    transport: str = "nbt"  # nbt (139, session request) | tcp (445)
    drop: Drop | None = None  # the victim's: the runner's one drop object (a fork's copy)
    owner_pid: int = field(default_factory=os.getpid)  # the runner: its clients die with it
    pool: bool = False  # a session pool (harness.procs.pool): ``sessions`` sessions in this process
    sessions: int = 1
    idle: bool = False  # a pool of idle sessions
    first_index: int = 0  # the pool's first session among ``all_sessions`` (its stagger)
    all_sessions: int = 1
    victim_spec: VictimSpec | None = None  # what the victim holds, or None
    # A client's shared prober process (harness.probes ``shared``): each probe in a thread and
    # on a session of its own, each on its own offset (``staggers``: probe -> fraction).
    shared: bool = False
    staggers: dict[str, float] = field(default_factory=dict)


def _build_probes(spec: WorkerSpec, session):
    holds = spec.victim_spec.holds if spec.victim_spec else None
    ctx = ProbeContext(
        spec.endpoint,
        spec.name,
        spec.timeout_s,
        session,
        holds=holds,
        held_file=held_file_name(spec.owner_pid, _run_tag(spec)) if holds else None,
        dialect=spec.dialect,
        transport=spec.transport,
    )
    probes = {name: PROBES[name].load().from_context(ctx) for name in spec.rates_hz}
    for p in probes.values():
        p.open()
    return probes


def _build_shared(spec: WorkerSpec, info: dict) -> tuple[dict, list]:
    """A shared prober's probes, each with a session of its own where it needs one (named
    ``<process>_<probe>``, as its scratch files), set up in threads at once (a logon is
    mostly waiting for the server); its sessions. ``info`` gets a session's addresses and
    dialect (for the history's ``client`` event). The first error is raised."""

    def build(name: str):
        client = f"{spec.name}_{name}"
        session = None
        if PROBES[name].needs_session:
            session = open_session(
                spec.endpoint, f"NBTH-{client}", spec.timeout_s, spec.dialect, spec.transport
            )
        ctx = ProbeContext(
            spec.endpoint,
            client,
            spec.timeout_s,
            session,
            dialect=spec.dialect,
            transport=spec.transport,
        )
        probe = PROBES[name].load().from_context(ctx)
        probe.open()
        return probe, session

    with ThreadPoolExecutor(max_workers=len(spec.rates_hz)) as pool:
        built = dict(zip(spec.rates_hz, pool.map(build, spec.rates_hz), strict=True))
    sessions = [session for _, session in built.values() if session is not None]
    if sessions:
        first = sessions[0]
        info.update(
            local=first.local_addr(),
            dialect=first.dialect,
            encrypted=first.encrypted,
            peer="{}:{}".format(*first.sock.getpeername()[:2]),
        )
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
            _run_probes(one, {name: probes[name]}, writer, t0)
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


def _run_tag(spec: WorkerSpec) -> str:
    """This scenario run's tag: its event directory's name (nbth-<pid>-events-<random>)."""
    return os.path.basename(os.path.dirname(spec.events_path))


def _sleep_until(t0: float, t_s: float) -> None:
    delay = t0 + t_s - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _run_probes(spec: WorkerSpec, probes: dict, writer: HistoryWriter, t0: float) -> None:
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
        _complete(spec, writer, t0, intended_s, sent, operation, common)


def _complete(
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
        if _complete(spec, writer, t0, intended_s, time.monotonic(), operation, common) != OK:
            return -1
    return first_seq + len(operations)


def _run_victim(
    spec: WorkerSpec, session, drop, writer: HistoryWriter, t0: float, conn, data=None
) -> None:
    drop.fault_end_monotonic = t0 + spec.phases.fault_start_s + spec.phases.fault_s
    sent_bytes = None
    if (
        data is not None
    ):  # its own data: flushed at the warm-up's end, one write just before the drop
        acked_before = _bytes_acked(session.sock)
        _sleep_until(t0, max(0.0, spec.phases.warmup_s - LEAD_S))
        seq = _write_victim_data(spec, data.flushed_part(), writer, t0, 0)
        _sleep_until(t0, max(0.0, spec.phases.fault_start_s - UNFLUSHED_LEAD_S))
        if seq >= 0:
            _write_victim_data(spec, data.unflushed_part(), writer, t0, seq)
        acked_after = _bytes_acked(session.sock)
        if acked_before is not None and acked_after is not None:
            sent_bytes = acked_after - acked_before
    _sleep_until(t0, spec.phases.fault_start_s)
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
        _sleep_until(t0, spec.phases.total_s)
        released = True
        drop.release(session)
    finally:
        if not released:  # act() or during() broke: what act() applied must still go
            try:
                drop.release(session)
            except Exception:  # noqa: BLE001 a second release is best effort
                pass


def worker_main(spec: WorkerSpec, conn) -> None:
    """Entry point of a client process (forked by the runner)."""
    die_with_parent(spec.owner_pid)  # a runner killed by SIGKILL takes its clients along
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when we stop
    release_held_signals()
    set_run_marker(_run_tag(spec))  # this run's marker in every name it puts on the share
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
                spec.endpoint, f"NBTH-{spec.name}", spec.timeout_s, spec.dialect, spec.transport
            )
            info["local"] = session.local_addr()
            info["dialect"] = session.dialect  # negotiated (checked against the one asked for)
            info["encrypted"] = session.encrypted
            info["peer"] = "{}:{}".format(*session.sock.getpeername()[:2])
        if spec.role == "victim":
            if drop is None or session is None:  # the runner gives the victim both
                raise RuntimeError("a victim without its drop or its session")
            drop.prepare(session)
            if spec.victim_spec:  # what it holds when it drops (harness.clients.holdings)
                info["holding"] = take(
                    session,
                    spec.victim_spec.holds,
                    held_file_name(spec.owner_pid, _run_tag(spec)),
                    spec.victim_spec.durable_timeout_ms,
                )
            victim_data = VictimData(session)  # its own file, written before the drop
            victim_data.open()
        elif spec.shared:
            probes, shared_sessions = _build_shared(spec, info)
        else:
            probes = _build_probes(spec, session)
    except Exception as exc:  # noqa: BLE001 any setup failure goes to the runner as one line
        setup_failed(conn, spec.name, spec.endpoint, exc)
    t0 = ready_then_start(conn, info)
    writer.set_t0(t0)
    try:
        if spec.role == "victim":
            _run_victim(spec, session, drop, writer, t0, conn, victim_data)
        else:
            if spec.shared:
                _run_shared(spec, probes, writer, t0)
            else:
                _run_probes(spec, probes, writer, t0)
            # Close only once the phases are over (as a pool does): a 4 Hz probe's last
            # operation is 0.25 s before the end, and its logoff and the server's teardown
            # of that session then fell on the other clients' last judged probes.
            _sleep_until(t0, spec.phases.total_s)
            for p in probes.values():
                p.close()
            for s in ([session] if session else []) + shared_sessions:
                s.close()
    except Exception as exc:  # noqa: BLE001 any failure is recorded in the history
        writer.write("error", error=f"{spec.name}: {describe_error(exc, spec.endpoint)}")
    done(writer, conn)
