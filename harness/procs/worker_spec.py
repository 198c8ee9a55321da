"""What the runner gives each client process it forks (harness.procs.worker, or a session
pool: harness.procs.pool): its host, server, phases, probes and their rates, and the
victim's drop and holdings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.drops.base import Drop
from harness.probes.timing import SPIN_S
from harness.schedule import Phases
from harness.server import Endpoint

if TYPE_CHECKING:
    from harness.scenario.victim import VictimSpec


@dataclass
class WorkerSpec:
    name: str  # process name in the history: nbstat, nbt_session, c1.., victim
    role: str  # healthy | victim
    netns: str | None
    endpoint: Endpoint
    events_path: str
    phases: Phases
    rates_hz: dict = field(default_factory=dict)
    timeout_s: float = 2.0
    stagger: float = 0.0
    spin_s: float = SPIN_S  # the active wait before each send (probes.timing)
    dialect: str = "smb3"  # a name of harness.dialects
    transport: str = "nbt"  # nbt (139, session request) | tcp (445)
    drop: Drop | None = None  # the victim's: the runner's one drop object (a fork's copy)
    # A victim of several drops (harness.procs.victims): (PlannedDrop, Drop) in time order,
    # each Drop the runner's own object (a fork's copy); ``drop`` is then the first's.
    scheduled: tuple = ()
    victim_number: int = 1  # which victim this is (from 1): its held file (clients.holdings)
    owner_pid: int = field(default_factory=os.getpid)  # the runner: its clients die with it
    pool: bool = False  # a session pool (harness.procs.pool): ``sessions`` sessions in this process
    sessions: int = 1
    idle: bool = False  # a pool of idle sessions
    first_index: int = 0  # the pool's first session among ``all_sessions`` (its stagger)
    all_sessions: int = 1
    victim_spec: VictimSpec | None = None  # what the victim holds, or None
    # A client's shared prober process (harness.probes ``shared``): each probe in a thread and
    # on a session of its own, each on its own offset (``staggers``: probe -> fraction).
    shared: bool = False
    staggers: dict[str, float] = field(default_factory=dict)

    @property
    def run_tag(self) -> str:
        """This scenario run's tag: its event directory's name (nbth-<pid>-events-<random>)."""
        return os.path.basename(os.path.dirname(self.events_path))
