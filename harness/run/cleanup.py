"""Remove what killed runs left behind: namespaces (and every process and link in them),
temp dirs, and containers, all recognised by their ``nbth-<owner pid>-`` names."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.lab import firewall, netns
from harness.targets import docker as docker_target


def stale_temp_dirs() -> list[Path]:
    return [p for p in Path(tempfile.gettempdir()).iterdir()
            if (pid := netns.owner_pid_of(p.name)) is not None and p.is_dir() and not netns.pid_alive(pid)]


def cleanup_stale(include_live: bool = False) -> list[str]:
    """Remove stale leftovers; with include_live, everything the harness ever made."""
    removed = []
    names = netns.all_owned_netns() if include_live else netns.stale_netns()
    for name in names:
        netns.delete_netns(name)
        removed.append(f"netns {name}")
    try:
        n = firewall.remove_cuts(stale_only=not include_live)
    except Exception:  # noqa: BLE001 no iptables on this machine: no rule of ours can exist
        n = 0
    if n:
        removed.append(f"{n} iptables rule(s)")
    for d in stale_temp_dirs():
        shutil.rmtree(d, ignore_errors=True)
        removed.append(f"dir {d}")
    try:
        removed += [f"container {c}" for c in (docker_target.cleanup_stale(include_live=include_live) or [])]
    except Exception:  # noqa: BLE001 no docker SDK or engine: nothing of ours can be there
        pass
    return removed
