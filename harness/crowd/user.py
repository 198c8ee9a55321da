"""The crowd's user: one SMB session (impacket, unmodified, under gevent) doing a weighted
mix of operations at a fixed pace. Imported only by the crowd's master and workers (it
imports locust: the importing process is monkey-patched).

Each user opens a file of its own at logon and keeps it open: ``read`` and ``write`` move 4
KiB at its start, ``open_close`` opens and closes it again, ``list`` asks the directory for
its name, ``echo`` is an SMB ECHO. Operation k of a user is due at its start + k x the op
interval; its latency counts from when it was due (a stalled server shows as the late
operations it caused, not as one slow one).
"""

from __future__ import annotations

import itertools
import os
import random
import time

import gevent
from locust import User, task

from harness.clients import smbops
from harness.clients.session import open_session
from harness.crowd.protocol import END_PHASE
from harness.server import Endpoint

BLOCK = os.urandom(4096)
CONFIG_WAIT_S = 60.0  # a user spawned before its worker got the config waits this long
_serial = itertools.count(1)


def run_op(session, op: str, name: str, fid) -> None:
    """One operation of the mix on an open session (its file ``name`` open as ``fid``)."""
    if op == "echo":
        session.echo()
    elif op == "open_close":
        smbops.open_close(session, name)
    elif op == "read":
        session.conn.readFile(session.tree_id, fid, 0, len(BLOCK))
    elif op == "write":
        session.conn.writeFile(session.tree_id, fid, BLOCK, 0)
    elif op == "list":
        session.conn.listPath(session.endpoint.share, name)
    else:
        raise ValueError(f"unknown crowd operation {op!r}")


class CrowdUser(User):
    """One SMB session of the crowd. Its worker's state is ``environment.crowd``
    (harness.crowd.worker.WorkerState): the config from the master, the recorder."""

    def on_start(self) -> None:
        state = self.environment.crowd
        deadline = time.monotonic() + CONFIG_WAIT_S
        while state.config is None and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if state.config is None:
            raise RuntimeError("no crowd config from the master")
        cfg = state.config
        self.interval_s = float(cfg["op_interval_s"])
        self.ops = list(cfg["mix"])
        self.weights = [float(cfg["mix"][op]) for op in self.ops]
        self.name = f"nbth-crowd-{state.name}-{next(_serial)}.dat"
        self.session = None
        self.fid = None
        try:
            self.session = open_session(
                Endpoint(**cfg["endpoint"], password=state.password),
                f"CROWD{os.getpid() % 10000}",
                float(cfg["timeout_s"]),
                cfg["dialect"],
                cfg["transport"],
            )
            self.fid = smbops.open_file(self.session, self.name)
        except Exception as exc:  # noqa: BLE001 one line for the master; the user stays idle
            state.logon_failed += 1
            state.logon_error = " ".join(str(exc).split())[:200]
            self.session = None
            return
        state.logged_on += 1
        state.users.add(self)
        # The schedule starts with the harness's warm-up (the master's first phase message),
        # after every user's logon: the logons' CPU is not a lag the operations carry. Users
        # spread over the interval, not all at its start.
        while state.recorder.phase == "setup":
            gevent.sleep(0.05)
        self.due = time.monotonic() + random.uniform(0, self.interval_s)

    def wait_time(self) -> float:
        if self.session is None:
            return 3600.0
        return max(0.0, self.due - time.monotonic())

    @task
    def operation(self) -> None:
        state = self.environment.crowd
        if self.session is None or state.recorder.phase == END_PHASE:
            self.due = time.monotonic() + 3600.0  # the run is over: nothing new starts
            return
        op = random.choices(self.ops, self.weights)[0]
        due = self.due
        if due > time.monotonic():  # Locust runs the first task at once: it waits for its time
            gevent.sleep(due - time.monotonic())
        if self.session is None or state.recorder.phase == END_PHASE:  # ended meanwhile
            return
        self.due += self.interval_s
        token = state.recorder.begin(op)
        try:
            run_op(self.session, op, self.name, self.fid)
        except Exception as exc:  # noqa: BLE001 impacket raises assorted types: an error
            state.recorder.end(token, 0, f"{op}: {type(exc).__name__}: {exc}")
            return
        state.recorder.end(token, (time.monotonic() - due) * 1e6)

    def close_session(self) -> None:
        """Close and delete this user's file and log off. Idempotent: the worker calls it
        for every user at the end of the run (before Locust's quit can cut it short), and
        on_stop again. Each step is tried whatever the one before did: impacket's close of
        the held handle can fail in its own bookkeeping (open_close opened the same name
        again), and a delete of a file still open is done when the logoff closes it."""
        self.environment.crowd.users.discard(self)
        session, self.session = self.session, None
        if session is None:
            return
        steps = [lambda: session.conn.deleteFile(session.endpoint.share, self.name)]
        if self.fid is not None:
            steps.insert(0, lambda: smbops.close_file(session, self.fid))
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 the server may be gone or the session broken
                pass  # the embedded share goes with its lab; elsewhere the file is left
        session.close()

    def on_stop(self) -> None:
        self.close_session()
