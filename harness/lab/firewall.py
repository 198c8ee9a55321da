"""iptables rules that cut one TCP flow, tagged ``nbth-<owner pid>-cut`` so that cleanup can
always find them (in a lab namespace they also vanish with the namespace)."""

from __future__ import annotations

import os
import re
import shlex

from harness.errors import InfraError
from harness.lab.netns import sh

_TAG = re.compile(r"--comment\s+\"?(nbth-(\d+)-cut)\"?")


def tag_for(owner_pid: int) -> str:
    return f"nbth-{owner_pid}-cut"


def flow_rules(local: str, peer: str) -> list[list[str]]:
    """Both directions of one TCP 4-tuple, as iptables rule specs (chain first)."""
    lip, lport = local.rsplit(":", 1)
    pip, pport = peer.rsplit(":", 1)
    return [
        ["OUTPUT", "-p", "tcp", "-s", lip, "--sport", lport, "-d", pip, "--dport", pport],
        ["INPUT", "-p", "tcp", "-s", pip, "--sport", pport, "-d", lip, "--dport", lport],
    ]


def insert_drop(chain: str, match: list[str], owner_pid: int, netns: str | None = None) -> str:
    """Insert one tagged DROP rule (first in ``chain``) for packets matching ``match``
    (empty: every packet); return it as text."""
    from harness.lab import owner

    if owner_pid == os.getpid():
        owner.register()
    rule = [chain, *match, "-m", "comment", "--comment", tag_for(owner_pid), "-j", "DROP"]
    sh("iptables", "-w", "5", "-I", *rule, netns=netns)
    return " ".join(rule)


def cut_flow(
    local: str, peer: str, owner_pid: int, chains: tuple[str, ...] = ("OUTPUT", "INPUT")
) -> list[str]:
    """Silently drop every packet of the flow in the given directions (OUTPUT: what we send,
    INPUT: what we receive); no RST, no ICMP. Returns the rules."""
    return [
        insert_drop(chain, spec, owner_pid)
        for chain, *spec in flow_rules(local, peer)
        if chain in chains
    ]


def _tagged_rules(netns: str | None) -> list[tuple[int, list[str]]]:
    out = []
    for line in sh("iptables", "-w", "5", "-S", netns=netns, check=False).splitlines():
        m = _TAG.search(line)
        if m and line.startswith("-A "):
            out.append((int(m.group(2)), shlex.split(line)[1:]))
    return out


def remove_cuts(
    owner_pid: int | None = None,
    netns: str | None = None,
    stale_only: bool = False,
    left: list[str] | None = None,
) -> int:
    """Delete tagged rules (of one owner, or all the owner records prove the harness's; with
    stale_only, of owners that have ended only: harness.lab.owner). Returns how many were
    deleted. A rule that could not be deleted and is still there: InfraError, or, given
    ``left``, a line appended to it."""
    from harness.lab import owner

    n = 0
    for pid, rule in _tagged_rules(netns):
        if owner_pid is not None and pid != owner_pid:
            continue
        if owner_pid is None:
            state, _why = owner.judge(pid)
            if state == owner.UNKNOWN or (stale_only and state == owner.LIVE):
                continue
        try:
            sh("iptables", "-w", "5", "-D", *rule, netns=netns)
            n += 1
        except InfraError as exc:
            if rule in [r for _, r in _tagged_rules(netns)]:
                why = f"iptables rule {' '.join(rule)}{' in ' + netns if netns else ''}: {exc}"
                if left is None:
                    raise InfraError(f"cannot remove {why}") from None
                left.append(why)
    return n
