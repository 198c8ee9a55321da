"""Drop modes: one module per way the victim loses its session, each saying what goes on the
wire, what the victim does (in its own process) and what server-side evidence proves it."""

from __future__ import annotations

from harness.drops.base import Drop
from harness.drops.blackhole import Blackhole
from harness.drops.fin import Fin
from harness.drops.half_logon import HalfLogon
from harness.drops.halfframe import HalfFrame
from harness.drops.hang import Hang
from harness.drops.ignore_breaks import IgnoreBreaks
from harness.drops.kill import Kill
from harness.drops.late_ack import LateAck
from harness.drops.netem import Netem
from harness.drops.partition import Partition
from harness.drops.pause import Pause
from harness.drops.reclaim import Reclaim
from harness.drops.rst import Rst
from harness.drops.stall import Stall

DROPS: dict[str, type[Drop]] = {
    d.mode: d
    for d in (
        Rst,
        Fin,
        Kill,
        HalfFrame,
        Stall,
        Blackhole,
        Netem,
        Partition,
        Pause,
        Hang,
        IgnoreBreaks,
        LateAck,
        HalfLogon,
        Reclaim,
    )
}


def drop_for(mode: str, params: dict | None = None, owner_pid: int = 0) -> Drop:
    drop = DROPS[mode](**(params or {}))
    drop.owner_pid = owner_pid
    return drop
