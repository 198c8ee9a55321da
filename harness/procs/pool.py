"""A session pool: one client process hosting many SMB sessions, the way a busy file server
sees hundreds of clients, at a fraction of a process each.

Two kinds, both forked by the runner like a worker (same pipe protocol: harness.procs.protocol;
same history):

- *active*: each session runs its own open-loop echo schedule (``rates_hz`` with a stagger
  of its own). One thread multiplexes them with a selector: a due echo is sent on time
  (sleep, then the last ``spin_s`` actively), answers are read as they come, each operation
  is recorded with its intended, sent and completed times. A session has at most one echo
  outstanding; the next one waits for it and carries the wait (no coordinated omission).
- *idle*: each session logs on, connects the share, holds one file of the pool open and
  then only reads what the server sends (keep-alives, breaks). The history says how many
  were held and which the server closed.
"""

from __future__ import annotations

import collections
import os
import resource
import selectors
import signal
import socket
import time
from typing import cast

from harness.clients.priority import raise_priority
from harness.clients.scratch import client_file_name, set_run_marker
from harness.clients.session import describe_error, open_session
from harness.errors import ProbeTimeout
from harness.history import FAIL, INFO, INVOKE, OK, HistoryWriter
from harness.lab.inns import die_with_parent, release_held_signals
from harness.lab.netns import enter_netns
from harness.probes.smb_echo import EchoProbe
from harness.probes.timing import send_at
from harness.procs.protocol import done, ready_then_start, setup_failed
from harness.schedule import fixed_rate_times

MAX_SESSIONS_PER_PROCESS = 256
SETUP_TIMEOUT_PER_SESSION_S = 2.0


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _pss_kb() -> int | None:
    """This process's proportional set size (what it really costs the machine), in KiB."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pool_schedule(
    rate_hz: float,
    sessions: int,
    total_s: float,
    stagger: float,
    first_index: int,
    all_sessions: int,
) -> list[tuple[float, int]]:
    """(intended_s, session) for every operation, in time order. Session k (of the pool)
    is shifted by (first_index + k) / all_sessions of a period: spread over every pool."""
    events = []
    for k in range(sessions):
        offset_s = (((first_index + k) / all_sessions + stagger) % 1.0) / rate_hz
        events += [(t, k) for t in fixed_rate_times(rate_hz, 0.0, total_s, offset_s)]
    events.sort()
    return events


def pool_main(spec, conn) -> None:
    """Entry point of a pool process (forked by the runner)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(spec.owner_pid)  # a runner killed by SIGKILL takes its pools along
    release_held_signals()
    set_run_marker(spec.run_tag)
    sessions = []
    try:
        if spec.netns:
            enter_netns(spec.netns)
        _raise_fd_limit()
        writer = HistoryWriter(spec.events_path, spec.name)
        shared_file = client_file_name(spec.name)
        for k in range(spec.sessions):
            s = open_session(
                spec.endpoint,
                f"NBTH{spec.name}{k}"[:15],
                spec.timeout_s,
                spec.dialect,
                spec.transport,
            )
            sessions.append(s)
            if spec.idle:  # one file of the pool, held open by every idle session
                s.open_file(shared_file, overwrite=(k == 0))  # open until its logoff
        probes = [] if spec.idle else _echo_probes(spec, sessions)
        first = sessions[0]
        info = {
            "pid": os.getpid(),
            "sessions": len(sessions),
            "local": first.local_addr(),
            "peer": "{}:{}".format(*first.sock.getpeername()[:2]),
            "dialect": first.dialect,
            "sched": raise_priority(),
        }  # its sends are timed: see harness.clients.priority
    except Exception as exc:  # noqa: BLE001 any setup failure goes to the runner as one line
        setup_failed(conn, spec.name, spec.endpoint, exc)
    t0 = ready_then_start(conn, info, writer)
    try:
        if spec.idle:
            _run_idle(spec, sessions, writer, t0)
        else:
            _run_active(spec, probes, writer, t0)
    except Exception as exc:  # noqa: BLE001 any failure is recorded; the pool still logs off
        writer.write("error", error=f"{spec.name}: {describe_error(exc, spec.endpoint)}")
    writer.write("pool", sessions=len(sessions), pss_kb=_pss_kb())
    # Log off only once the phases are over: a pool's last echo can come up to a period
    # before the end, and tens of logoffs at once in the recovery phase load the server
    # under the other clients' last probes.
    delay_s = t0 + spec.phases.total_s - time.monotonic()
    if delay_s > 0:
        time.sleep(delay_s)
    for s in sessions:
        s.close()
    done(writer, conn)


def _echo_probes(spec, sessions) -> list:
    probes = []
    for s in sessions:
        p = EchoProbe(s, spec.timeout_s)
        p.open()
        if not p.raw:
            raise ValueError("a session pool needs SMB 2 or 3 without encryption (prebuilt echo)")
        probes.append(p)
    return probes


def _run_active(spec, probes: list, writer: HistoryWriter, t0: float) -> None:
    """Every session's echoes on their schedules, multiplexed on one selector."""
    rate_hz = spec.rates_hz["smb_echo"]
    plan = pool_schedule(
        rate_hz, len(probes), spec.phases.total_s, spec.stagger, spec.first_index, spec.all_sessions
    )
    sel = selectors.DefaultSelector()
    for k, p in enumerate(probes):
        sel.register(p.session.sock, selectors.EVENT_READ, k)
    waiting: list[collections.deque] = [collections.deque() for _ in probes]  # due, not sent
    outstanding: dict[int, tuple] = {}  # session -> (seq, intended_s, sent, deadline, message id)
    common = {"probe": "smb_echo", "role": spec.role}

    def send(k: int, seq: int, intended_s: float, sent: float) -> None:
        try:
            mid = probes[k].send()
        except OSError as exc:
            complete(k, (seq, intended_s, sent, 0.0, None), FAIL, f"{type(exc).__name__}: {exc}")
            return
        outstanding[k] = (seq, intended_s, sent, sent + spec.timeout_s, mid)

    def complete(k: int, op: tuple, outcome: str, error: str | None) -> None:
        seq, intended_s, sent, _deadline, _mid = op
        end = time.monotonic()
        writer.write(
            outcome,
            t_s=end - t0,
            seq=seq,
            session=k,
            latency_us=round((end - t0 - intended_s) * 1e6, 1),
            sent_s=round(sent - t0, 6),
            service_us=round((end - sent) * 1e6, 1),
            error=error,
            **common,
        )
        outstanding.pop(k, None)
        if waiting[k]:  # the next echo of this session was due meanwhile: send it now, late
            nseq, nintended = waiting[k].popleft()
            send(k, nseq, nintended, time.monotonic())

    i = 0
    while i < len(plan) or outstanding or any(waiting):
        now = time.monotonic()
        if i < len(plan) and t0 + plan[i][0] - now <= spec.spin_s:
            intended_s, k = plan[i]
            seq = i
            i += 1
            writer.write(
                INVOKE,
                phase=spec.phases.phase_at(intended_s),
                intended_s=round(intended_s, 6),
                seq=seq,
                session=k,
                **common,
            )
            if k in outstanding:
                waiting[k].append((seq, intended_s))
                continue
            send(k, seq, intended_s, send_at(t0 + intended_s, spec.spin_s))
            continue
        deadlines = [op[3] for op in outstanding.values()]
        wake = min(
            deadlines + ([t0 + plan[i][0] - spec.spin_s] if i < len(plan) else []),
            default=now + 0.1,
        )
        for key, _ in sel.select(max(0.0, wake - now)):
            k = key.data
            op = outstanding.get(k)
            if op is None:
                try:  # a late answer to an echo that timed out: drop it
                    cast(socket.socket, key.fileobj).recv(65536, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    pass
                continue
            try:
                if probes[k].read_answer(op[4], op[3]):
                    complete(k, op, OK, None)
            except ProbeTimeout as exc:
                complete(k, op, INFO, f"timeout: {exc}")
            except Exception as exc:  # noqa: BLE001 any failure of the operation is a failed probe
                complete(k, op, FAIL, f"{type(exc).__name__}: {exc}"[:300])
                sel.unregister(key.fileobj)
        now = time.monotonic()
        for k, op in list(outstanding.items()):
            if op[3] <= now:
                complete(k, op, INFO, f"timeout: no echo answer within {spec.timeout_s:.1f}s")


def _run_idle(spec, sessions: list, writer: HistoryWriter, t0: float) -> None:
    """Hold every session until the end; read (and drop) whatever the server sends."""
    sel = selectors.DefaultSelector()
    for k, s in enumerate(sessions):
        s.sock.setblocking(False)
        sel.register(s.sock, selectors.EVENT_READ, k)
    lost: list[int] = []
    end = t0 + spec.phases.total_s
    while (now := time.monotonic()) < end:
        for key, _ in sel.select(end - now):
            try:
                data = cast(socket.socket, key.fileobj).recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                lost.append(key.data)
                writer.write(
                    "idle_lost",
                    session=key.data,
                    role=spec.role,
                    phase=spec.phases.phase_at(now - t0),
                    error="the server closed an idle session",
                )
    writer.write("idle", held=len(sessions) - len(lost), lost=lost[:20], sessions=len(sessions))
    for s in sessions:
        s.sock.setblocking(True)
        s.sock.settimeout(spec.timeout_s)
