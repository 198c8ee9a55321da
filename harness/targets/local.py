"""The embedded target: Debian's smbd and nmbd, started by the harness in a lab namespace.

The harness writes a private smb.conf into a temp dir, starts both daemons in the foreground
inside the lab's server namespace (bridge address 10.213.0.1, ports 137/udp, 139, 445,
dialects NT1 through SMB 3.1.1, one writable share, one user), waits for an NBSTAT answer and a
positive NBT session response, and on stop() kills them and removes the namespaces and dir.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from harness.clients.priority import SERVER_RT_PRIORITY, raise_priority_of_tree
from harness.errors import InfraError
from harness.lab import netns as netns_mod
from harness.lab.inns import call_in_netns
from harness.lab.netns import Lab
from harness.lab.sockdiag import TcpTable, netns_path
from harness.probes.readiness import server_ready
from harness.scratch import make_scratch_dir
from harness.targets import LOCAL_CONFIGS
from harness.targets.base import Endpoint, ServerSocket, Target

NETBIOS_NAME = "NBTHSRV"
WORKGROUP = "NBTLAB"
SHARE = "share"
USER = "root"  # smbpasswd needs a Unix account; root exists on every machine we run on
READY_TIMEOUT_S = 20.0
SMBSTATUS_TIMEOUT_S = 5.0
READY_POLL_S = 0.05  # smbd and nmbd answer about 0.2 s after their start: poll finely

SMB_CONF = """\
[global]
    netbios name = {netbios_name}
    workgroup = {workgroup}
    server role = standalone server
    disable netbios = no
    smb ports = 445 139
    interfaces = {addr}/16
    bind interfaces only = yes
    passdb backend = tdbsam:{dir}/passdb.tdb
    private dir = {dir}/private
    lock directory = {dir}/lock
    state directory = {dir}/state
    cache directory = {dir}/cache
    pid directory = {dir}/pid
    ncalrpc dir = {dir}/ncalrpc
    # nmbd's socket for unexpected packets is /run/samba/nmbd/unexpected unless set: shared,
    # two embedded nmbds starting at once fail with NT_STATUS_ADDRESS_ALREADY_ASSOCIATED
    nmbd:socket dir = {dir}/nmbd
    log file = {dir}/log.%m
    server min protocol = NT1
    server max protocol = SMB3_11
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    dns proxy = no
    wins support = no
    local master = no
    domain master = no
    preferred master = no
    # durable handles need these off (smbd refuses DHnQ/DH2Q otherwise): harness.clients.holdings
    kernel oplocks = no
    kernel share modes = no
    posix locking = no
{extra}
[{share}]
    path = {dir}/share
    read only = no
    guest ok = no
"""


def samba_version(smbd: str) -> str | None:
    """'Samba 4.17.12-Debian' from ``smbd --version``, or None."""
    try:
        done = subprocess.run(
            [smbd, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.strip()
    if done.returncode != 0 or not text.startswith("Version "):
        return None
    return "Samba " + text.removeprefix("Version ").split()[0]


def require_samba() -> tuple[str, str]:
    smbd, nmbd = shutil.which("smbd"), shutil.which("nmbd")
    if not smbd or not nmbd:
        raise InfraError(
            "smbd/nmbd not found: install Debian's samba package (apt-get install samba)"
        )
    return smbd, nmbd


def _daemon(proc: subprocess.Popen) -> str:
    """The daemon's binary in an ``ip netns exec NETNS BINARY ...`` command line."""
    args = proc.args
    return str(args[4]) if isinstance(args, list) else str(args)


def smbstatus_json(argv: list[str], timeout_s: float = SMBSTATUS_TIMEOUT_S) -> dict | None:
    """``argv --json --byterange --fast`` parsed, or None when it fails (an older Samba
    without --json, a timeout). --fast: the tables as they are, without smbstatus's check
    that each entry's process still exists (with twenty embedded Sambas at once, that check
    left out live sessions and opens: 0 or 1 of 2 sessions in about a third of the samples)."""
    try:
        done = subprocess.run(
            [*argv, "--json", "--byterange", "--fast"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        doc = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class LocalSamba(Target):
    """Real smbd + nmbd in the lab's server namespace."""

    name = "local"
    kind = "local"
    # Opt-in (local:server-rt, or this default set by a benchmark for every LocalSamba it
    # starts, a replica's upstream too): smbd and nmbd at SCHED_RR SERVER_RT_PRIORITY, children
    # and threads included (docs/pages/replica.md "What held healthy Samba under load": it ends
    # the server's runqueue waits, and with them the catches that came from the server being
    # slow at the drop)
    raise_server_priority = False

    @classmethod
    def from_spec(cls, spec, hold_s=None, degrade_ms=None) -> LocalSamba:
        return cls(**LOCAL_CONFIGS[spec.variant or "default"])

    def __init__(
        self,
        extra_conf: str = "",
        lab: Lab | None = None,
        server_tcp_retries2: int = 3,
        raise_server_priority: bool = False,
    ) -> None:
        self.lab = lab or Lab()
        self.server_tcp_retries2 = server_tcp_retries2
        if raise_server_priority:  # local:server-rt
            self.raise_server_priority = True
        self.extra_conf = extra_conf
        self.dir: Path | None = None
        self.procs: list[subprocess.Popen] = []
        self._tcp_table: TcpTable | None = None  # sock_diag socket in the server's namespace
        self.server_sched = "normal"  # what smbd and nmbd run at, once started
        self._server_version: str | None = None
        self._password = secrets.token_urlsafe(12)
        self._endpoint = Endpoint(
            host=netns_mod.SERVER_ADDR,
            netbios_name=NETBIOS_NAME,
            share=SHARE,
            username=USER,
            password=self._password,
        )

    def describe(self) -> str:
        version = self.server_version()
        return super().describe() + (f" [{version}]" if version else "")

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    def server_version(self) -> str | None:
        return self._server_version

    def start(self) -> None:
        if os.geteuid() != 0:
            raise InfraError("the embedded target needs root (network namespaces, smbd)")
        smbd, nmbd = require_samba()
        self._server_version = samba_version(smbd)
        for stale in netns_mod.stale_netns():
            netns_mod.delete_netns(stale)
        from harness.lab import owner

        owner.register()
        self.dir = make_scratch_dir(f"nbth-{os.getpid()}-samba-")
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "share"):
            (self.dir / sub).mkdir()
        os.chmod(self.dir / "share", 0o777)
        conf = self.dir / "smb.conf"
        conf.write_text(
            SMB_CONF.format(
                netbios_name=NETBIOS_NAME,
                workgroup=WORKGROUP,
                addr=netns_mod.SERVER_ADDR,
                dir=self.dir,
                share=SHARE,
                extra=self.extra_conf,
            )
        )
        done = subprocess.run(
            ["smbpasswd", "-c", str(conf), "-s", "-a", USER],
            input=f"{self._password}\n{self._password}\n",
            text=True,
            capture_output=True,
            timeout=20,
            check=False,
        )
        if done.returncode != 0:
            raise InfraError(f"smbpasswd failed: {done.stderr.strip() or done.stdout.strip()}")
        self.lab.create()
        # Make the server's TCP give up on an unanswering peer in about 3 s (200 ms RTO
        # doubled 3 times) instead of Linux's default 15 retries (about 15 min), so a
        # blackholed victim's session dies inside the scenario window.
        netns_mod.sh(
            "sysctl",
            "-q",
            "-w",
            f"net.ipv4.tcp_retries2={self.server_tcp_retries2}",
            netns=self.lab.server_netns,
        )
        for daemon, binary in (("nmbd", nmbd), ("smbd", smbd)):
            with open(self.dir / f"{daemon}.stdout", "wb") as log:  # the daemon holds its copy
                self.procs.append(
                    subprocess.Popen(
                        [
                            "ip",
                            "netns",
                            "exec",
                            self.lab.server_netns,
                            binary,
                            "-F",
                            "--no-process-group",
                            "-s",
                            str(conf),
                            "--debug-stdout",
                            "-d1",
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        self._wait_ready(self._endpoint)
        if self.raise_server_priority:
            # every process and thread both daemons have by now (their helpers, the readiness
            # probe's smbd); what they fork or start later inherits it (no reset on fork)
            got = [raise_priority_of_tree(p.pid, SERVER_RT_PRIORITY) for p in self.procs]
            self.server_sched = next((g for g in got if not g.startswith("SCHED_RR")), got[-1])

    def _wait_ready(self, endpoint: Endpoint) -> None:
        host = self.lab.add_host("probe")
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "not tried"
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise InfraError(
                        f"{_daemon(p)} exited with {p.returncode} at start: {self.logs()[-300:]!r}"
                    )
            ok, last = call_in_netns(host.netns, server_ready, endpoint, timeout_s=5.0)
            if ok:
                return
            time.sleep(READY_POLL_S)
        raise InfraError(f"embedded samba not ready after {READY_TIMEOUT_S:.0f}s: {last}")

    def client_netns(self, role: str) -> str | None:
        return self.lab.add_host(role).netns

    def _table(self) -> TcpTable:
        if self._tcp_table is None:
            self._tcp_table = TcpTable(netns_path(self.lab.server_netns))
        return self._tcp_table

    def server_sockets(self) -> list[ServerSocket] | None:
        return self._table().rows()

    def server_flow(self, local: str, peer: str) -> list[ServerSocket] | None:
        row = self._table().lookup(local, peer)
        return [row] if row else []

    def server_tables(self) -> dict | None:
        if not self.dir or not shutil.which("smbstatus"):
            return None
        return smbstatus_json(["smbstatus", "-s", str(self.dir / "smb.conf")])

    def logs(self) -> str:
        if not self.dir:
            return ""
        out = []
        for f in sorted(self.dir.glob("*.stdout")) + sorted(self.dir.glob("log.*")):
            try:
                out.append(f"== {f.name}\n" + f.read_text(errors="replace")[-4000:])
            except OSError:
                pass
        return "\n".join(out)

    def stop(self) -> None:
        if self._tcp_table is not None:
            self._tcp_table.close()
            self._tcp_table = None
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        self.lab.destroy()  # kills whatever smbd children remain in the namespace
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
