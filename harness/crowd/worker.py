"""A crowd worker: a Locust worker process that runs the crowd's SMB users and keeps their
figures (harness.crowd.recorder). ``python -m harness.crowd.worker --master HOST[:PORT]``, or
``nbt-harness crowd-worker``; the harness starts its local workers so, each in a lab host of
its own, at lower CPU priority than its probes.

This process imports locust, which monkey-patches it with gevent: never import this module
into the harness's own process. The password comes from NBT_HARNESS_PASSWORD (taken out of
the environment at start); the rest of the endpoint comes from the master.
"""

from __future__ import annotations

import os
import socket
import sys
import time

from gevent import monkey

monkey.patch_all()  # before anything else imports socket or threading

import gevent  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.crowd import protocol  # noqa: E402
from harness.crowd.command import parse  # noqa: E402
from harness.crowd.recorder import Recorder  # noqa: E402
from harness.crowd.user import CrowdUser  # noqa: E402
from harness.scenario.crowd import parse_host_port  # noqa: E402
from harness.targets.password import take_password_env  # noqa: E402


class WorkerState:
    """What the worker's users share: its name, the config from the master, the recorder,
    and how their logons went."""

    def __init__(self, name: str, password: str) -> None:
        self.name = name
        self.password = password
        self.config: dict | None = None
        self.recorder = Recorder()
        self.logged_on = 0
        self.logon_failed = 0
        self.logon_error = ""
        self.users: set = set()  # logged-on users (harness.crowd.user.CrowdUser)


def run_worker(master: str, name: str) -> int:
    """Join the master at ``master`` (HOST[:PORT]) as ``name``; run until it quits."""
    host, port = parse_host_port(master)
    state = WorkerState(name, take_password_env() or "")
    env = Environment(user_classes=[CrowdUser])
    env.crowd = state  # type: ignore[attr-defined]
    runner = env.create_worker_runner(host, port)

    def on_config(environment, msg, **_kw) -> None:
        state.config = msg.data

    def on_phase(environment, msg, **_kw) -> None:
        state.recorder.set_phase(msg.data["phase"])

    def flush() -> None:
        # no operation starts after the end; those in flight get one operation timeout
        timeout_s = float((state.config or {}).get("timeout_s", 2.0))
        deadline = time.monotonic() + timeout_s
        while state.recorder.in_flight and time.monotonic() < deadline:
            gevent.sleep(0.02)
        # every user removes its file and logs off now: Locust's quit, which follows the
        # report, may kill a user greenlet in the middle of its on_stop
        closing = [gevent.spawn(user.close_session) for user in list(state.users)]
        gevent.joinall(closing, timeout=timeout_s)
        runner.send_message(protocol.REPORT, {"name": name, "phases": state.recorder.report()})

    def on_flush(environment, msg, **_kw) -> None:
        gevent.spawn(flush)

    runner.register_message(protocol.CONFIG, on_config)
    runner.register_message(protocol.PHASE, on_phase)
    runner.register_message(protocol.FLUSH, on_flush)
    runner.send_message(
        protocol.HELLO, {"name": name, "pid": os.getpid(), "host": socket.gethostname()}
    )

    def status() -> None:
        while True:
            runner.send_message(
                protocol.STATUS,
                {
                    "name": name,
                    "logged_on": state.logged_on,
                    "logon_failed": state.logon_failed,
                    "logon_error": state.logon_error,
                },
            )
            gevent.sleep(protocol.STATUS_INTERVAL_S)

    gevent.spawn(status)
    runner.greenlet.join()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return run_worker(args.master, args.name)


if __name__ == "__main__":
    sys.exit(main())
