"""The crowd's master: a headless Locust master (library API) in a process of its own,
started and steered by the harness (harness.crowd.control) over its stdin and stdout.

It waits for the expected workers to join and say hello, sends each the config, starts the
users and waits until every one has logged on (or failed to), then says ``ready``. Given the
clients' t0 (CLOCK_MONOTONIC: the master runs on the harness's machine), it sends each phase
change to the workers at its time on the harness's clock, watches for workers that go
missing (Locust's heartbeats), and after the recovery phase asks every worker for its
histograms. It prints the ``result`` and quits, taking its workers with it.

This process imports locust (gevent monkey-patching): never import it into the harness.
"""

from __future__ import annotations

import json
import os
import sys
import time

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402
from gevent.socket import wait_read  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.crowd import protocol  # noqa: E402
from harness.crowd.user import CrowdUser  # noqa: E402

POLL_S = 0.1
T0_WAIT_S = 600.0  # the harness's clients start within their own set-up timeout


def say(event: str, **fields) -> None:
    sys.stdout.write(protocol.line(event, **fields))
    sys.stdout.flush()


def read_stdin_line(timeout_s: float) -> str | None:
    """One line from stdin without blocking the hub (None: timeout or end of file)."""
    data = b""
    deadline = time.monotonic() + timeout_s
    while not data.endswith(b"\n"):
        try:
            wait_read(0, timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return None
        except OSError:
            return None
        chunk = os.read(0, 4096)
        if not chunk:
            return None
        data += chunk
    return data.decode()


class Master:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.env = Environment(user_classes=[CrowdUser])
        self.runner = self.env.create_master_runner(cfg["bind_host"], cfg["bind_port"])
        self.names: dict[str, str] = {}  # Locust client id -> worker name
        self.hosts: dict[str, dict] = {}  # worker name -> {pid, host}
        self.status: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}
        self.lost: dict[str, dict] = {}
        self.last_heard: dict[str, float] = {}  # worker name -> its last status (monotonic)
        self.t0: float | None = None
        self.runner.register_message(protocol.HELLO, self.on_hello)
        self.runner.register_message(protocol.STATUS, self.on_status)
        self.runner.register_message(protocol.REPORT, self.on_report)

    def on_hello(self, environment, msg, **_kw) -> None:
        name = str(msg.data.get("name"))
        if name in self.hosts and self.names.get(msg.node_id) != name:  # two workers, one name
            name = f"{name}#{msg.node_id[-6:]}"
        self.names[msg.node_id] = name
        self.hosts[name] = {"pid": msg.data.get("pid"), "host": msg.data.get("host")}
        self.runner.send_message(protocol.CONFIG, self.cfg["worker_config"], client_id=msg.node_id)

    def name_of(self, msg) -> str:
        """The worker's name as the master knows it (its hello's, made unique)."""
        return self.names.get(msg.node_id) or str(msg.data.get("name"))

    def on_status(self, environment, msg, **_kw) -> None:
        name = self.name_of(msg)
        self.status[name] = dict(msg.data)
        self.last_heard[name] = time.monotonic()

    def on_report(self, environment, msg, **_kw) -> None:
        self.reports[self.name_of(msg)] = msg.data.get("phases") or {}

    def joined(self) -> list[str]:
        live = {c.id for c in self.runner.clients.all if c.state != "missing"}
        return sorted(name for cid, name in self.names.items() if cid in live)

    def wait_until(self, done, deadline: float) -> bool:
        while not done():
            if time.monotonic() >= deadline:
                return False
            gevent.sleep(POLL_S)
        return True

    def set_up(self) -> str | None:
        """Workers joined, users spawned and logged on; None, or why not."""
        cfg = self.cfg
        want = cfg["expected_workers"]
        deadline = time.monotonic() + cfg["join_timeout_s"]
        if not self.wait_until(lambda: len(self.joined()) >= want, deadline):
            got = self.joined()
            return (
                f"{len(got)} of {want} crowd workers joined within {cfg['join_timeout_s']:g} s"
                + (f" ({', '.join(got)})" if got else "")
            )
        # Locust's master ramps its users up inside start() (users / spawn_rate seconds):
        # in a greenlet of its own, so that the deadline below holds
        gevent.spawn(self.runner.start, cfg["users"], cfg["spawn_rate"])

        def settled() -> bool:
            return (
                sum(s["logged_on"] + s["logon_failed"] for s in self.status.values())
                >= cfg["users"]
            )

        if not self.wait_until(settled, deadline):
            on = sum(s["logged_on"] for s in self.status.values())
            return (
                f"{on} of {cfg['users']} crowd users logged on within {cfg['join_timeout_s']:g} s"
            )
        failed = {n: s for n, s in self.status.items() if s["logon_failed"]}
        if failed:
            n, s = next(iter(failed.items()))
            total = sum(s["logon_failed"] for s in failed.values())
            return f"{total} crowd users could not log on (worker {n}: {s['logon_error']})"
        return None

    def watch(self, until: float) -> None:
        """Sleep until ``until`` (monotonic), noting workers that go missing or quit."""
        while time.monotonic() < until:
            live = {c.id for c in self.runner.clients.all if c.state != "missing"}
            for cid, name in self.names.items():
                if cid not in live and name not in self.lost and name not in self.reports:
                    self.note_lost(name, "no heartbeat from it (Locust's liveness: 3 s)")
            gevent.sleep(min(POLL_S, max(0.0, until - time.monotonic())))

    def note_lost(self, name: str, why: str) -> None:
        """A worker gone: named, with the last time (from t0) and phase it was heard in."""
        heard = self.last_heard.get(name)
        at_s = None if self.t0 is None or heard is None else round(heard - self.t0, 3)
        phase = None
        if at_s is not None:
            spans = self.cfg["phases"]
            phase = next((p for p, a, b in spans if a <= at_s < b), None)
            phase = phase or (spans[0][0] if at_s < 0 else protocol.END_PHASE)
        self.lost[name] = {
            "worker": name,
            "at_s": at_s,
            "phase": phase,
            "why": why,
            **self.hosts.get(name, {}),
        }

    def run_phases(self, t0: float) -> None:
        self.t0 = t0
        for phase, start_s, _end_s in self.cfg["phases"]:
            self.watch(t0 + start_s)
            self.runner.send_message(protocol.PHASE, {"phase": phase})
        self.watch(t0 + self.cfg["phases"][-1][2])
        self.runner.send_message(protocol.PHASE, {"phase": protocol.END_PHASE})
        self.runner.send_message(protocol.FLUSH, {})
        expected = [n for n in self.names.values() if n not in self.lost]
        deadline = time.monotonic() + self.cfg["flush_timeout_s"]
        self.wait_until(lambda: all(n in self.reports for n in expected), deadline)
        for name in expected:
            if name not in self.reports:
                self.note_lost(name, f"no histograms within {self.cfg['flush_timeout_s']:g} s")


def main() -> int:
    cfg = json.loads(sys.stdin.readline())
    master = Master(cfg)
    try:
        why = master.set_up()
        if why:
            say(protocol.ERROR, error=why)
            return 1
        say(protocol.READY, workers=master.joined(), users=cfg["users"])
        text = read_stdin_line(T0_WAIT_S)
        if not text or not text.startswith("t0 "):
            say(protocol.ERROR, error="no t0 from the harness")
            return 1
        master.run_phases(float(text.split()[1]))
        say(
            protocol.RESULT,
            workers=sorted(master.hosts),
            reports=master.reports,
            lost=list(master.lost.values()),
            users=cfg["users"],
            spawned=sum(s.get("logged_on", 0) for s in master.status.values()),
        )
        return 0
    finally:
        master.runner.quit()
        gevent.sleep(0.2)  # the quit messages go out


if __name__ == "__main__":
    sys.exit(main())
