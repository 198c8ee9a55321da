"""The crowd from the harness's side: start a Locust master and the local workers as
processes of their own (the harness's process never imports locust), each local worker in a
lab host of its own at lower CPU priority than the probes; wait until the crowd is ready;
give the master the clients' t0; take its result into the history; remove every process on
every exit path.

The master listens inside the lab (a lab host of its own, reachable only from the lab's
hosts) unless the scenario names ``master_bind``: then it runs in the harness's own network
namespace and binds that address for remote workers.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness.crowd import protocol
from harness.errors import HarnessError
from harness.history import HistoryWriter
from harness.lab.netns import sh
from harness.scenario.crowd import DEFAULT_MASTER_PORT, CrowdSpec
from harness.scenario.model import Scenario
from harness.targets.base import Target
from harness.targets.password import PASSWORD_ENV

MASTER_HOST = "crowdm"  # the lab host of the master (when it binds no address of the user's)
CROWD_NICE = 10  # the crowd yields the CPU to the probes (real-time) and the canaries
FLUSH_MARGIN_S = 3.0  # beyond a probe timeout, for the workers' histograms to arrive
RESULT_MARGIN_S = 5.0  # beyond the flush, before the master counts as hung
# util-linux's setpriv sets the parent-death signal, which survives the execs that follow
# (ip netns exec, nice): a crowd process is killed when the harness dies, whatever kills it
# (set in the child by the harness itself, it would need a pre-exec hook, unsafe in a
# process with threads)
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL"]
QUIT_GRACE_S = 3.0  # after the result, for the workers' users to remove their files


def worker_host(index: int) -> str:
    """The lab host role of local worker ``index`` (0-based)."""
    return f"crowd{index + 1}"


def lab_addr(netns: str) -> str:
    """The IPv4 address of a lab host's eth0."""
    out = sh("ip", "-n", netns, "-4", "-o", "addr", "show", "dev", "eth0")
    for word_before, word in zip(out.split(), out.split()[1:], strict=False):
        if word_before == "inet":
            return word.split("/")[0]
    raise HarnessError(f"lab host {netns} has no IPv4 address")


def placement_error(spec: CrowdSpec, target: Target) -> str | None:
    """Why the master cannot be where the scenario puts it, or None: a master bound outside
    the lab (``master_bind``) is out of reach of local workers in lab hosts."""
    if spec.master_bind and spec.workers and target.client_netns(worker_host(0)):
        return (
            "[crowd] master_bind: local workers in lab hosts cannot reach a master outside "
            "the lab; use master_bind with a target whose clients run in the harness's "
            "own namespace (a remote target), or leave it out"
        )
    return None


class Crowd:
    """One run's crowd: ``start`` (before the clients), ``begin(t0)``, ``finish`` (after
    the clients), ``stop`` (always; idempotent)."""

    def __init__(self, scenario: Scenario, target: Target, events_dir: Path) -> None:
        if scenario.crowd is None:
            raise ValueError("a scenario without [crowd]")
        self.spec: CrowdSpec = scenario.crowd
        self.scenario = scenario
        self.target = target
        self.events_dir = events_dir
        self.master: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.logs: list = []
        self.t0: float | None = None
        self.master_addr = ""
        self._buf = b""  # the master's output not yet read as lines
        self.finished = False  # the master gave its result (its workers are quitting)

    def _spawn(self, argv: list[str], netns: str | None, log_name: str, **kw) -> subprocess.Popen:
        prefix = DIE_WITH_PARENT + (["ip", "netns", "exec", netns] if netns else [])
        log = open(self.events_dir / log_name, "wb")  # noqa: SIM115 closed in stop()
        self.logs.append(log)
        env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
        env.update(kw.pop("env", {}))
        return subprocess.Popen(
            [*prefix, "nice", "-n", str(CROWD_NICE), sys.executable, "-m", *argv],
            stderr=log,
            env=env,
            start_new_session=True,
            **kw,
        )

    def _place_master(self) -> tuple[str | None, str, int]:
        """(network namespace, bind address, port) of the master: a lab host of its own
        (port 5557 there), else loopback on a free port, or ``master_bind`` in the harness's
        own namespace; ``master_addr`` is where the local workers reach it."""
        bound = self.spec.master_host_port
        if bound:
            bind_host, port = bound
            self.master_addr = "127.0.0.1" if bind_host in ("*", "0.0.0.0") else bind_host
            return None, bind_host, port
        netns = self.target.client_netns(MASTER_HOST)
        if netns:
            self.master_addr = lab_addr(netns)
            return netns, self.master_addr, DEFAULT_MASTER_PORT
        with socket.socket() as s:  # no lab: a free port of loopback
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.master_addr = "127.0.0.1"
        return None, self.master_addr, port

    def _config(self, bind_host: str, port: int) -> dict:
        """What the master is told (its stdin's first line): never the password."""
        spec, ep = self.spec, self.target.endpoint
        timeout_s = self.scenario.probe_timeout_s
        return {
            "bind_host": bind_host,
            "bind_port": port,
            "expected_workers": spec.expected_workers,
            "users": spec.users,
            "spawn_rate": spec.spawn_rate,
            "join_timeout_s": spec.join_timeout_s,
            "flush_timeout_s": timeout_s + FLUSH_MARGIN_S,
            "phases": [list(s) for s in self.scenario.phases.spans()],
            "worker_config": {
                "endpoint": {
                    "host": ep.host,
                    "netbios_name": ep.netbios_name,
                    "share": ep.share,
                    "username": ep.username,
                    "domain": ep.domain,
                    "nbt_port": ep.nbt_port,
                    "smb_port": ep.smb_port,
                    "ns_port": ep.ns_port,
                },
                "dialect": self.scenario.dialect,
                "transport": self.scenario.transport,
                "timeout_s": timeout_s,
                "mix": dict(spec.mix),
                "op_interval_s": spec.op_interval_s,
            },
        }

    def start(self) -> dict:
        """Start the master and the local workers; return the master's ``ready`` line once
        every worker has joined and every user has logged on. HarnessError otherwise."""
        error = placement_error(self.spec, self.target)
        if error:
            raise HarnessError(error)
        netns, bind_host, port = self._place_master()
        self.master = self._spawn(
            ["harness.crowd.master"],
            netns,
            "crowd-master.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.master.stdin is not None
        self.master.stdin.write(json.dumps(self._config(bind_host, port)).encode() + b"\n")
        self.master.stdin.flush()
        addr = f"[{self.master_addr}]" if ":" in self.master_addr else self.master_addr
        for i in range(self.spec.workers):
            name = worker_host(i)
            self.workers.append(
                self._spawn(
                    ["harness.crowd.worker", "--master", f"{addr}:{port}", "--name", name],
                    self.target.client_netns(name),
                    f"crowd-{name}.log",
                    env={PASSWORD_ENV: self.target.endpoint.password},
                    stdout=subprocess.DEVNULL,
                )
            )
        return self._expect(protocol.READY, time.monotonic() + self.spec.join_timeout_s + 10.0)

    def _expect(self, event: str, deadline: float) -> dict:
        """The master's next line of ``event`` before ``deadline``; HarnessError with its
        ``error`` line, its exit, or the time waited otherwise."""
        assert self.master is not None and self.master.stdout is not None
        fd = self.master.stdout.fileno()
        while True:
            if b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError(f"crowd master said no {event!r} in time{self._log_tail()}")
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise HarnessError(
                        f"crowd master exited ({self.master.wait(5)}) before {event!r}"
                        + self._log_tail()
                    )
                self._buf += chunk
                continue
            raw, _, self._buf = self._buf.partition(b"\n")
            text = raw.decode(errors="replace")
            d = protocol.parse_line(text)
            if d is None:
                continue
            if d["event"] == protocol.ERROR:
                raise HarnessError(f"crowd: {d.get('error')}")
            if d["event"] == event:
                return d

    def _log_tail(self) -> str:
        try:
            text = (self.events_dir / "crowd-master.log").read_text(errors="replace")
        except OSError:
            return ""
        last = [x for x in text.splitlines() if x.strip()][-1:]
        return f" (its log: {last[0][:200]})" if last else ""

    def begin(self, t0: float) -> None:
        """Give the master the clients' shared t0: it runs the phases from it."""
        assert self.master is not None and self.master.stdin is not None
        self.t0 = t0
        self.master.stdin.write(f"t0 {t0!r}\n".encode())
        self.master.stdin.flush()

    def finish(self, log: HistoryWriter) -> None:
        """Wait for the master's result (after the recovery phase and the workers' flush)
        and write it to the history as the ``crowd`` event."""
        if self.t0 is None:
            return
        deadline = (
            self.t0
            + self.scenario.phases.total_s
            + self.scenario.probe_timeout_s
            + FLUSH_MARGIN_S
            + RESULT_MARGIN_S
        )
        result = self._expect(protocol.RESULT, deadline)
        self.finished = True
        log.write(
            "crowd",
            event="result",
            workers=result.get("workers", []),
            reports=result.get("reports", {}),
            lost=result.get("lost", []),
            users=result.get("users"),
            spawned=result.get("spawned"),
        )

    def stop(self) -> None:
        """Kill the master and the workers (their process groups) and reap them. Idempotent.
        After a run that ended well (the master gave its result and quit, taking its workers
        with it), the workers get QUIT_GRACE_S to stop their users first: each user closes
        and deletes its file on the share and logs off."""
        procs = [p for p in [self.master, *self.workers] if p is not None]
        if self.finished:
            deadline = time.monotonic() + QUIT_GRACE_S
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.05)
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (p.stdin, p.stdout):
                if stream:
                    stream.close()
        for log in self.logs:
            log.close()
        self.master, self.workers, self.logs = None, [], []
        self.finished = False
