"""Remove what killed runs left behind: namespaces (and every process and link in them),
temp dirs, firewall rules and containers, named, tagged or labelled ``nbth-<owner pid>-``.
A thing is removed only when its owner's record (harness.lab.owner) proves it this host's
harness run's, and that run ended (or, with include_live, whether or not it did); never by
the pid in its name alone. What it could not remove is reported."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from harness.lab import firewall, netns, owner
from harness.scratch import scratch_roots
from harness.targets import docker as docker_target


@dataclass
class Cleanup:
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # provably ours, and still there: why
    kept: list[str] = field(default_factory=list)  # looks like ours, not provably: why


def _mine(name: str, include_live: bool, out: Cleanup, what: str) -> bool:
    pid = netns.owner_pid_of(name)
    if pid is None:
        return False
    state, why = owner.judge(pid)
    if state == owner.UNKNOWN:
        out.kept.append(f"{what} {name}: {why}")
        return False
    return state == owner.DEAD or include_live


def cleanup_stale(include_live: bool = False) -> Cleanup:
    """Remove stale leftovers; with include_live, also those of runs still alive."""
    out = Cleanup()
    for name in netns.list_netns():
        if _mine(name, include_live, out, "netns"):
            why = netns.delete_netns(name)
            (
                out.left.append(f"netns {name}: {why}")
                if why
                else out.removed.append(f"netns {name}")
            )
    try:
        n = firewall.remove_cuts(stale_only=not include_live, left=out.left)
    except Exception as exc:  # noqa: BLE001 no iptables on this machine: no rule of ours can exist
        n = 0
        if not isinstance(exc, (FileNotFoundError,)) and "command not found" not in str(exc):
            out.left.append(f"iptables rules: {exc}")
    if n:
        out.removed.append(f"{n} iptables rule(s)")
    for d in (d for root in scratch_roots() for d in root.iterdir()):
        try:
            ours = d.is_dir() and not d.is_symlink() and d.stat().st_uid == os.geteuid()
        except OSError:
            continue
        if ours and _mine(d.name, include_live, out, "dir"):
            shutil.rmtree(d, ignore_errors=True)
            (
                out.left.append(f"dir {d}: could not remove all of it")
                if d.exists()
                else out.removed.append(f"dir {d}")
            )
    try:
        out.removed += [
            f"container {c}" for c in (docker_target.cleanup_stale(include_live=include_live) or [])
        ]
    except Exception as exc:  # noqa: BLE001 an engine that fails (none at all is no container: [])
        out.left.append(f"containers: {exc}")
    if not out.left:
        owner.forget_dead()
    return out
