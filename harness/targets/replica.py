"""The ``replica`` target: the embedded Samba behind the Q186873 replica relay.

The relay runs as its own process in the server namespace, listening on the lab's second
server address (10.213.0.2, ports 137/udp, 139, 445) and forwarding to smbd/nmbd on
10.213.0.1. Clients are given the relay's address; the server-side evidence is read from the
relay's sockets (the same namespace, the same peer addresses). Its trigger and recover lines
become ``server`` events in each scenario's history, so a report shows why a stall happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

from harness.clients.priority import raise_priority_of
from harness.errors import BadInput, InfraError
from harness.lab import netns as netns_mod
from harness.replica.triggers import HOLDS
from harness.targets.base import Endpoint
from harness.targets.local import LocalSamba

DEFAULT_HOLD_S = 1.0
HELD = {"all": "freeze", "create": "hold opens", "logon": "hold new logons", "lock": "hold locks"}
# lose_write_from=ROLE: the lab host whose connections alone count (the victim runs alone on
# its own host; healthy clients may share theirs with the session-less probers)
LOSE_WRITE_FROM = ("victim",)
LISTEN_TIMEOUT_S = 10.0


class ReplicaTarget(LocalSamba):
    """The embedded Samba behind the Q186873 replica: a relay that freezes (or degrades) every
    session once it counts a lost one (the trigger), the harness's positive control."""

    kind = "replica"

    @classmethod
    def from_spec(cls, spec, hold_s=None, degrade_ms=None) -> ReplicaTarget:
        return cls(
            trigger=spec.variant or "any", hold_s=hold_s, degrade_ms=degrade_ms, **spec.options
        )

    def __init__(
        self,
        trigger: str = "any",
        hold_s: float | None = None,
        degrade_ms: float | None = None,
        hold: str = "all",
        lose_write: int | str = 0,
        lose_write_from: str | None = None,
        reclaim: str | None = None,
    ) -> None:
        super().__init__()
        self.trigger = trigger
        self.hold_s = DEFAULT_HOLD_S if hold_s is None else hold_s
        self.degrade_ms = degrade_ms or 0.0
        if hold not in HOLDS:
            raise BadInput(f"replica hold={hold!r}: expected one of {', '.join(HOLDS)}")
        try:
            self.lose_write = int(lose_write)
        except ValueError:
            self.lose_write = -1
        if not 0 <= self.lose_write <= 1_000_000:
            raise BadInput(
                f"replica lose_write={lose_write!r}: expected an integer from 0 to 1000000"
            )
        if lose_write_from is not None and lose_write_from not in LOSE_WRITE_FROM:
            raise BadInput(
                f"replica lose_write_from={lose_write_from!r}: expected one of "
                f"{', '.join(LOSE_WRITE_FROM)} (a lab host role)"
            )
        if lose_write_from and not self.lose_write:
            raise BadInput("replica: lose_write_from needs lose_write=N (which write to lose)")
        self.lose_write_from = lose_write_from
        if self.lose_write and hold != "all":
            raise BadInput(f"replica: lose_write and hold={hold} cannot be combined")
        if hold != "all" and self.degrade_ms:
            raise BadInput(
                f"replica: hold={hold} holds requests; it cannot also degrade (--degrade-ms)"
            )
        if reclaim not in (None, "grant"):
            raise BadInput(f"replica reclaim={reclaim!r}: expected grant")
        self.grant_reclaim = reclaim == "grant"
        if self.grant_reclaim and hold != "all":
            raise BadInput(f"replica: reclaim=grant and hold={hold} cannot be combined")
        self.hold = hold
        opts = (
            (f",hold={hold}" if hold != "all" else "")
            + (f",lose_write={self.lose_write}" if self.lose_write else "")
            + (f",lose_write_from={lose_write_from}" if lose_write_from else "")
            + (",reclaim=grant" if self.grant_reclaim else "")
        )
        self.name = f"replica:{trigger}{opts}"
        self.relay: subprocess.Popen | None = None
        self._log_offset = 0
        self._upstream = super().endpoint

    @property
    def endpoint(self) -> Endpoint:
        return replace(self._upstream, host=netns_mod.SERVER_ALIAS_ADDR)

    def describe(self) -> str:
        how = f"degrade {self.degrade_ms:g} ms" if self.degrade_ms else HELD[self.hold]
        if self.lose_write:
            how += (
                f"; lose WRITE #{self.lose_write} of each {self.lose_write_from} connection"
                if self.lose_write_from
                else f"; lose WRITE #{self.lose_write}"
            )
        grant = "; grant every durable reclaim" if self.grant_reclaim else ""
        return (
            f"{self.name} ({how} for {self.hold_s:g}s{grant}) in front of "
            f"{self._upstream.describe()}: {self.endpoint.describe()}"
            + (f" [{self.server_version()}]" if self.server_version() else "")
        )

    def start(self) -> None:
        super().start()  # smbd + nmbd, ready on the upstream address
        assert self.dir is not None
        self.log_path = self.dir / "replica.log"
        argv = [
            sys.executable,
            "-m",
            "harness.replica",
            "--listen",
            netns_mod.SERVER_ALIAS_ADDR,
            "--upstream",
            self._upstream.host,
            "--trigger",
            self.trigger,
            "--hold-s",
            str(self.hold_s),
            "--log",
            str(self.log_path),
            # the scenarios' largest crowds (1,256 sessions), as much held as before
            "--max-connections",
            "4096",
            "--max-held-bytes",
            str(16 * 1024 * 1024),
        ]
        if self.degrade_ms:
            argv += ["--degrade-ms", str(self.degrade_ms)]
        if self.hold != "all":
            argv += ["--hold", self.hold]
        if self.lose_write:
            argv += ["--lose-write", str(self.lose_write)]
        if self.lose_write_from:  # the role's lab host (the victim's sessions come from it alone)
            argv += ["--lose-write-from", self.lab.add_host(self.lose_write_from).addr]
        if self.grant_reclaim:
            argv.append("--grant-reclaim")
        with open(self.dir / "replica.stdout", "wb") as stdout:  # the relay holds its copy
            self.relay = subprocess.Popen(
                ["ip", "netns", "exec", self.lab.server_netns, *argv],
                stdout=stdout,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        # Above the probers' real-time priority: otherwise the relay waits for spinning
        # probers and other work to give it a CPU, and that wait counts as the server's.
        self.relay_sched = raise_priority_of(self.relay.pid)
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while not any(e.get("event") == "listening" for e in self._read_log(advance=False)):
            if self.relay.poll() is not None:
                out = (self.dir / "replica.stdout").read_text(errors="replace").strip()
                raise InfraError(f"replica exited with {self.relay.returncode}: {out[-300:]}")
            if time.monotonic() > deadline:
                raise InfraError(f"replica not listening after {LISTEN_TIMEOUT_S:.0f}s")
            time.sleep(0.05)
        self._wait_ready(self.endpoint)
        self.server_events()  # readiness checks are not scenario events

    def _read_log(self, advance: bool) -> list[dict]:
        try:
            with open(self.log_path, encoding="utf-8") as f:
                f.seek(self._log_offset)
                text = f.read()
                end = f.tell()
        except (OSError, AttributeError):
            return []
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            end -= len(lines[-1].encode())
            lines = lines[:-1]
        if advance:
            self._log_offset = end
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def server_events(self) -> list[dict]:
        return [
            {"source": "replica", **e}
            for e in self._read_log(advance=True)
            if e.get("event") in ("trigger", "recover", "lost_write", "granted_reclaim")
        ]

    def logs(self) -> str:
        text = super().logs()
        try:
            text += "\n== replica.log\n" + self.log_path.read_text(errors="replace")[-4000:]
        except (OSError, AttributeError):
            pass
        return text

    def stop(self) -> None:
        if self.relay is not None and self.relay.poll() is None:
            self.relay.terminate()
            try:
                self.relay.wait(3)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait(3)
        self.relay = None
        super().stop()
