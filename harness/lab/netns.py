"""Network namespaces as hosts: a server namespace holding a bridge, client hosts on veths.

Everything created here is named ``nbth-<owner pid>-...`` so that ``nbt-harness cleanup`` (and
the next run) can find what a killed run left behind: a namespace whose owner record
(harness.lab.owner) says its run has ended is stale. Deleting a namespace removes its links,
bridge, qdiscs and iptables rules with it.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

from harness.errors import InfraError

PREFIX = "nbth-"
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
LAB_SUBNET_PREFIX = "10.213.0"  # the lab is 10.213.0.0/16: it exists only inside its namespaces
LAB_PREFIX_LEN = 16
HOSTS_PER_OCTET = 200  # hosts 0..199 are 10.213.0.10-209, then 10.213.1.10-209, ...
SERVER_ADDR = f"{LAB_SUBNET_PREFIX}.1"
# second server-side address (the replica listens here)
SERVER_ALIAS_ADDR = f"{LAB_SUBNET_PREFIX}.2"
# br0's MAC, set explicitly: a bridge left to itself takes the lowest MAC of its ports, so
# plugging in a new host could change the server's MAC under the other hosts' ARP caches
# (their packets then went to the old MAC and were dropped: connects timed out).
BRIDGE_MAC = "02:6e:62:74:00:01"
CMD_TIMEOUT_S = 10.0
FIRST_HOST_OCTET = 10  # hosts get .10, .11, ... in the order they are added

_OWNED = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")


def sh(
    *argv: str, netns: str | None = None, check: bool = True, timeout_s: float = CMD_TIMEOUT_S
) -> str:
    """Run a command (inside netns if given) and return its stdout; one-line error on failure."""
    cmd = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise InfraError(f"command not found: {cmd[0]} (install iproute2)") from exc
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"command timed out after {timeout_s:.0f}s: {' '.join(cmd)}") from exc
    if check and done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise InfraError(f"{' '.join(cmd)}: {msg[-1] if msg else f'exit {done.returncode}'}")
    return done.stdout


_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move the calling process (single-threaded, e.g. a fresh child) into netns ``name``."""
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise InfraError(f"setns({name}) failed: {os.strerror(err)}")
    finally:
        os.close(fd)


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def _kill_in_netns(pid: int, netns_ino: int) -> None:
    """SIGKILL ``pid`` only if it is (still) a process of the namespace with inode
    ``netns_ino``: a pidfd pins the process, then its namespace is checked, so a pid reused
    since it was listed is never signalled."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return  # gone
    try:
        if os.stat(f"/proc/{pid}/ns/net").st_ino == netns_ino:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass  # ended meanwhile
    finally:
        os.close(pidfd)


def delete_netns(name: str) -> str | None:
    """Kill every process inside netns ``name``, then delete it. Idempotent. Returns why it
    is still there, or None once it is gone."""
    if name not in list_netns():
        return None
    try:
        ino = os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except OSError as exc:
        return f"cannot stat it: {exc.strerror}"
    for _ in range(3):
        pids = [int(p) for p in sh("ip", "netns", "pids", name, check=False).split()]
        if not pids:
            break
        for pid in pids:
            _kill_in_netns(pid, ino)
        time.sleep(0.05)
    try:
        sh("ip", "netns", "del", name)
    except InfraError as exc:
        return str(exc)
    return f"still listed in {NETNS_DIR}" if name in list_netns() else None


def owner_pid_of(name: str) -> int | None:
    """The harness process id in a name the harness made (``nbth-<pid>-...``), else None."""
    m = _OWNED.match(name)
    return int(m.group(1)) if m else None


def stale_netns() -> list[str]:
    """Namespaces whose owner record proves them a harness run's that has ended (see
    harness.lab.owner; never by the pid in the name alone)."""
    from harness.lab import owner

    return [
        n
        for n in list_netns()
        if (pid := owner_pid_of(n)) is not None and owner.judge(pid)[0] == owner.DEAD
    ]


def host_addr(index: int) -> str:
    """The address of the lab's host number ``index`` (0-based), beyond one /24 if need be."""
    third, fourth = divmod(index, HOSTS_PER_OCTET)
    if third > 255:
        raise InfraError(f"the lab has room for {256 * HOSTS_PER_OCTET} hosts, not {index + 1}")
    return f"10.213.{third}.{FIRST_HOST_OCTET + fourth}"


@dataclass
class Host:
    """A client host: a namespace with one veth into the lab bridge."""

    netns: str
    addr: str


_lab_serial = iter(range(1, 1 << 30))


@dataclass
class Lab:
    """Server namespace with bridge ``br0``, plus client host namespaces plugged into it.

    Each lab of a process gets a serial number, so several labs (targets) can coexist.
    """

    owner_pid: int = field(default_factory=os.getpid)
    serial: int = field(default_factory=lambda: next(_lab_serial))
    server_netns: str = ""
    hosts: dict[str, Host] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.server_netns = f"{PREFIX}{self.owner_pid}-{self.serial}-srv"

    def create(self) -> None:
        if os.geteuid() != 0:
            raise InfraError("the embedded target needs root (network namespaces, smbd)")
        from harness.lab import owner

        owner.register()  # before anything exists: cleanup can prove it this run's
        s = self.server_netns
        delete_netns(s)
        sh("ip", "netns", "add", s)
        sh("ip", "-n", s, "link", "set", "lo", "up")
        sh("ip", "-n", s, "link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge")
        sh("ip", "-n", s, "addr", "add", f"{SERVER_ADDR}/{LAB_PREFIX_LEN}", "dev", "br0")
        sh("ip", "-n", s, "addr", "add", f"{SERVER_ALIAS_ADDR}/{LAB_PREFIX_LEN}", "dev", "br0")
        sh("ip", "-n", s, "link", "set", "br0", "up")

    def add_host(self, role: str) -> Host:
        """A new client host namespace named after its role, with its own address."""
        if role in self.hosts:
            return self.hosts[role]
        index = len(self.hosts)
        ns = f"{PREFIX}{self.owner_pid}-{self.serial}-{role}"[:60]
        addr = host_addr(index)
        delete_netns(ns)
        sh("ip", "netns", "add", ns)
        bridge_port = f"vh{index}"
        sh(
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            ns,
            "type",
            "veth",
            "peer",
            "name",
            bridge_port,
            "netns",
            self.server_netns,
        )
        sh("ip", "-n", self.server_netns, "link", "set", bridge_port, "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr}/{LAB_PREFIX_LEN}", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        host = Host(ns, addr)
        self.hosts[role] = host
        return host

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.owner_pid}-{self.serial}-"

    def destroy(self) -> None:
        """Delete every namespace of this lab, including one a signal caught half-made."""
        for name in [n for n in list_netns() if n.startswith(self.prefix)]:
            if name != self.server_netns:
                delete_netns(name)
        self.hosts.clear()
        delete_netns(self.server_netns)
