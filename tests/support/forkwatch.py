"""Every process the machine forks, from the kernel's proc connector (NETLINK_CONNECTOR,
CN_IDX_PROC; root): for tests that prove the harness spawns nothing while it measures."""

from __future__ import annotations

import os
import socket
import struct
import threading
from dataclasses import dataclass

NETLINK_CONNECTOR = 11
CN_IDX_PROC = CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_FORK = 0x00000001
NLMSG_DONE = 3
_HDR = struct.Struct("=IHHII")
_CN = struct.Struct("=IIIIHH")
_EV = struct.Struct("=IIQ")
_FORK = struct.Struct("=IIII")


@dataclass(frozen=True)
class Fork:
    t_monotonic: float  # the kernel's CLOCK_MONOTONIC stamp, comparable to time.monotonic()
    parent_tgid: int
    child_pid: int
    child_tgid: int

    @property
    def is_process(self) -> bool:  # a new thread shares its parent's thread group
        return self.child_pid == self.child_tgid and self.child_tgid != self.parent_tgid


class ForkWatch:
    """Records fork events until stopped."""

    def __init__(self) -> None:
        self.forks: list[Fork] = []
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        self._sock.bind((0, CN_IDX_PROC))
        self._sock.settimeout(0.2)
        msg = _CN.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, 4, 0) + struct.pack("=I", PROC_CN_MCAST_LISTEN)
        self._sock.send(_HDR.pack(_HDR.size + len(msg), NLMSG_DONE, 0, 0, os.getpid()) + msg)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            off = _HDR.size + _CN.size
            if len(data) < off + _EV.size + _FORK.size:
                continue
            what, _cpu, ts_ns = _EV.unpack_from(data, off)
            if what == PROC_EVENT_FORK:
                _ppid, ptgid, cpid, ctgid = _FORK.unpack_from(data, off + _EV.size)
                self.forks.append(Fork(ts_ns / 1e9, ptgid, cpid, ctgid))

    def stop(self) -> list[Fork]:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
        return list(self.forks)


def descendants(forks: list[Fork], roots: set[int], exclude: set[int] = frozenset()) -> set[int]:
    """Process ids forked (transitively) from ``roots``, not through any of ``exclude``."""
    seen = set(roots)
    for f in sorted(forks, key=lambda f: f.t_monotonic):
        if f.is_process and f.parent_tgid in seen and f.parent_tgid not in exclude:
            seen.add(f.child_tgid)
    return seen - set(roots)


def spawned_while_judged(history: list[dict], forks: list[Fork], root_pid: int,
                         exclude: set[int] = frozenset()) -> list[Fork]:
    """Processes that ``root_pid``'s tree forked during the baseline, fault and recovery
    phases of the run in ``history`` (its run-start event carries t0_monotonic)."""
    start = next(e for e in history if e.get("type") == "run" and e.get("event") == "start")
    spans = {name: (a, b) for name, a, b in start["phases"]}
    t0 = start["t0_monotonic"]
    begin, end = t0 + spans["baseline"][0], t0 + spans["recovery"][1]
    tree = descendants(forks, {root_pid}, exclude)
    return [f for f in forks if f.is_process and f.parent_tgid in tree | {root_pid}
            and begin <= f.t_monotonic <= end]
