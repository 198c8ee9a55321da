"""Probe processes at real-time priority, so that their own wake-ups stay on time on a
loaded machine.

A prober sleeps until each operation's intended send time, and its latency counts from that
time (open loop): if the scheduler wakes it late, the lateness counts as latency although
the server had nothing to do with it. On a busy machine a normal-priority sleeper wakes
tens of milliseconds late, and a lower nice value helps little (it only weighs inside the
session's autogroup); a real-time one wakes on time. SCHED_RR 1 is the lowest real-time
priority; probers block on sockets nearly all the time (they spin at most 2 ms before a send
and 2 ms after it: harness.probes.timing) and the
kernel's real-time throttling (95 % by default) bounds the rest. Children return to
normal scheduling (reset on fork). The canary runs at the same priority, so it measures the
stalls the probers can still suffer (the machine itself: hypervisor, interrupts).
"""

from __future__ import annotations

import os

RT_PRIORITY = 1
# The replica relay (a fixture standing for the server) runs one above the probers: a prober
# waiting actively for its answer must not keep the relay that forwards it off the CPU.
RELAY_RT_PRIORITY = 2
# The embedded Samba's smbd and nmbd (the lab's own server) can run there too, for the same
# reason and against other work on the machine (opt-in: harness.targets.local).
SERVER_RT_PRIORITY = 2


def raise_priority() -> str:
    """Run the calling process at SCHED_RR ``RT_PRIORITY``; return what it runs at:
    ``"SCHED_RR 1"``, or ``"normal (<why>)"`` where that is not allowed (not root)."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(RT_PRIORITY))
    except (OSError, AttributeError) as exc:  # EPERM without CAP_SYS_NICE; not Linux
        return f"normal ({type(exc).__name__}: {exc})"
    return f"SCHED_RR {RT_PRIORITY}"


def raise_priority_of(pid: int, priority: int = RELAY_RT_PRIORITY, inherit: bool = False) -> str:
    """Run process (thread) ``pid`` at SCHED_RR ``priority``; what it runs at, as
    raise_priority says. ``inherit``: its future children keep it (no reset on fork)."""
    policy = os.SCHED_RR if inherit else os.SCHED_RR | os.SCHED_RESET_ON_FORK
    try:
        os.sched_setscheduler(pid, policy, os.sched_param(priority))
    except (OSError, AttributeError) as exc:
        return f"normal ({type(exc).__name__}: {exc})"
    return f"SCHED_RR {priority}"


def process_tree(pid: int) -> list[int]:
    """Every thread of process ``pid`` and of its descendants (from /proc; processes that exit
    meanwhile are skipped), ``pid`` first."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop(0)
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{p}/task"))
        except OSError:
            continue
        out += [p] + [t for t in tids if t != p]
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    return out


def raise_priority_of_tree(pid: int, priority: int) -> str:
    """Run every thread of process ``pid`` and of its descendants at SCHED_RR ``priority``,
    inherited by the children they fork later; what they run at, as raise_priority says (the
    first refusal, if any; a thread that exited meanwhile is no refusal)."""
    result = f"SCHED_RR {priority}"
    for tid in process_tree(pid):
        got = raise_priority_of(tid, priority, inherit=True)
        if got != result and (tid == pid or "ProcessLookupError" not in got):
            return got
    return result
