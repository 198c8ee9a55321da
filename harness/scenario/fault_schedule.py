"""Several victims and faults that repeat: the scenario's ``victims = N`` and its [schedule]
table (a seeded fault schedule, as Jepsen's nemesis places faults), read, checked and laid
out as the list of drops the run acts. Pure: no clock, no I/O; the same table and seed give
the same drops.

Without a [schedule], each of the N victims drops once, all at the fault phase's start, in
the scenario's [drop] mode. With one, ``count`` drops are placed ``every_s`` apart from the
fault phase's start, each later by a seeded draw from [0, ``jitter_s``], in a mode drawn (by
the same seed) from ``modes`` (default: the [drop] mode), on the victims in turn (drop k on
victim k mod N + 1). ``drops = [{at_s, victim, mode}, ...]`` gives the drops themselves (a
reproducer's exact times): they are then used as they are, whatever the seed says.

A victim whose drop ends its session logs on again before its next one: only drops that
leave the victim process able to do so (``repeatable``) can repeat, and one victim's drops
are at least ``MIN_GAP_S`` apart.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from harness.schedule import Phases
from harness.validate import number, table

SCHEDULE_KEYS = ("every_s", "count", "jitter_s", "seed", "modes", "drops")
MAX_VICTIMS = 8
MAX_DROPS = 200
# One victim's successive drops: a new connection, NEGOTIATE and SESSION_SETUP between them
# (10-50 ms on the lab, seconds on a loaded machine), and the drop's evidence before it.
MIN_GAP_S = 1.0
# The last drop this far before the fault phase's end at the latest: its evidence and its
# effect on the others fall in the phase named after it.
END_MARGIN_S = 0.5


@dataclass(frozen=True)
class PlannedDrop:
    """One drop of the run: its number (0 first), when (s from t0), on which victim (from 1)
    and how (a drop mode)."""

    index: int
    at_s: float
    victim: int
    mode: str

    def to_dict(self) -> dict:
        return {"at_s": self.at_s, "victim": self.victim, "mode": self.mode}


@dataclass(frozen=True)
class FaultSchedule:
    """The [schedule] table as given; ``drops`` only when it lists the drops themselves."""

    every_s: float = 1.0  # seconds between two drops' slots, from the fault phase's start
    count: int = 1  # drops in all, on the victims in turn (1-200)
    jitter_s: float = 0.0  # each drop later than its slot by a seeded draw from [0, jitter_s]
    seed: int = 0  # the draws' seed: the same seed, the same drops
    modes: tuple[str, ...] = ()  # drop modes drawn from (seeded); empty: the [drop] mode
    # [{at_s, victim, mode}, ...]: the drops themselves, used as they are (a reproducer's)
    drops: tuple[PlannedDrop, ...] = ()

    def to_dict(self) -> dict:
        d: dict = {
            "every_s": self.every_s,
            "count": self.count,
            "jitter_s": self.jitter_s,
            "seed": self.seed,
        }
        if self.modes:
            d["modes"] = list(self.modes)
        if self.drops:
            d["drops"] = [p.to_dict() for p in self.drops]
        return d


def victim_name(victim: int) -> str:
    """The client process of victim ``victim`` (from 1): ``victim``, ``victim2``, ..."""
    return "victim" if victim == 1 else f"victim{victim}"


def schedule_from_dict(d, known_modes, repeatable) -> FaultSchedule:
    """The [schedule] table. ``known_modes``: every drop mode; ``repeatable``: those a victim
    can act again (the others are refused by name). ValueError names the first problem."""
    table(d, "schedule", SCHEDULE_KEYS)
    every_s = float(number(d.get("every_s", 1.0), "[schedule] every_s", 0, 3600, lo_open=True))
    count = int(number(d.get("count", 1), "[schedule] count", 1, MAX_DROPS, integer=True))
    jitter_s = float(number(d.get("jitter_s", 0.0), "[schedule] jitter_s", 0, 3600))
    seed = int(number(d.get("seed", 0), "[schedule] seed", 0, 2**63 - 1, integer=True))
    modes = d.get("modes", [])
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
        raise ValueError(f"[schedule] modes must be a list of drop modes, got {modes!r}"[:300])

    def mode_ok(mode: str, where: str) -> None:
        if mode not in known_modes:
            raise ValueError(f"{where}: unknown drop mode {mode!r}")
        if mode not in repeatable:
            raise ValueError(
                f"{where}: drop {mode} cannot repeat (a victim acts it once); "
                f"modes that can: {', '.join(sorted(repeatable))}"
            )

    for m in modes:
        mode_ok(m, "[schedule] modes")
    drops_d = d.get("drops", [])
    if not isinstance(drops_d, list) or len(drops_d) > MAX_DROPS:
        raise ValueError(f"[schedule] drops must be a list of at most {MAX_DROPS} tables")
    drops = []
    for i, e in enumerate(drops_d):
        where = f"[schedule] drops[{i}]"
        if not isinstance(e, dict) or set(e) != {"at_s", "victim", "mode"}:
            raise ValueError(f"{where} must be a table of at_s, victim and mode, got {e!r}"[:300])
        if not isinstance(e["mode"], str):
            raise ValueError(f"{where} mode must be a string")
        mode_ok(e["mode"], where)
        at_s = float(number(e["at_s"], f"{where} at_s", 0, 7200))
        victim = int(number(e["victim"], f"{where} victim", 1, MAX_VICTIMS, integer=True))
        drops.append(PlannedDrop(i, at_s, victim, e["mode"]))
    return FaultSchedule(every_s, count, jitter_s, seed, tuple(modes), tuple(drops))


def plan_drops(
    schedule: FaultSchedule | None, victims: int, fault_start_s: float, drop_mode: str
) -> tuple[PlannedDrop, ...]:
    """The run's drops in time order (see the module's docstring)."""
    if schedule is None:
        return tuple(PlannedDrop(v - 1, fault_start_s, v, drop_mode) for v in range(1, victims + 1))
    if schedule.drops:
        ordered = sorted(schedule.drops, key=lambda p: (p.at_s, p.victim))
        return tuple(PlannedDrop(i, p.at_s, p.victim, p.mode) for i, p in enumerate(ordered))
    rng = random.Random(schedule.seed)
    modes = schedule.modes or (drop_mode,)
    out = []
    for i in range(schedule.count):
        jitter = rng.uniform(0.0, schedule.jitter_s) if schedule.jitter_s else 0.0
        at_s = round(fault_start_s + i * schedule.every_s + jitter, 3)
        out.append(PlannedDrop(i, at_s, i % victims + 1, rng.choice(modes)))
    return tuple(out)


def schedule_problem(
    drops: tuple[PlannedDrop, ...], victims: int, fault_start_s: float, fault_end_s: float
) -> str | None:
    """Why these drops cannot run in the fault phase with ``victims`` victims, or None."""
    for p in drops:
        if p.victim > victims:
            return f"drop {p.index} is on victim {p.victim}, and the scenario has {victims}"
        if not fault_start_s <= p.at_s <= fault_end_s - END_MARGIN_S:
            return (
                f"drop {p.index} at {p.at_s:g} s is outside the fault phase "
                f"({fault_start_s:g}-{fault_end_s - END_MARGIN_S:g} s, its last "
                f"{END_MARGIN_S:g} s left for evidence): lengthen phases.fault_s or "
                "shorten the schedule"
            )
    for v in range(1, victims + 1):
        times = [p.at_s for p in drops if p.victim == v]
        if not times:
            return f"victim {v} has no drop in the schedule (count < victims?)"
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if gaps and min(gaps) < MIN_GAP_S:
            return (
                f"victim {v}'s drops are {min(gaps):.3g} s apart at the closest; at least "
                f"{MIN_GAP_S:g} s (it logs on again between them): raise every_s, lower "
                "jitter_s or add victims"
            )
    return None


def faults_from_dict(
    d: dict, drop_mode: str | None, phases: Phases, drops: dict
) -> tuple[int, FaultSchedule | None]:
    """The scenario's ``victims`` and [schedule] (None: none), checked against its [drop]
    mode (``drop_mode``), its phases and the drop registry (``drops``: mode -> class, its
    ``repeatable``). ValueError names the first problem."""
    known_modes = set(drops)
    repeatable = {mode for mode, kind in drops.items() if kind.repeatable}
    fault_start_s = phases.fault_start_s
    fault_end_s = fault_start_s + phases.fault_s
    victims = int(number(d.get("victims", 1), "victims", 1, MAX_VICTIMS, integer=True))
    schedule_d = d.get("schedule")
    schedule = None
    if schedule_d is not None:
        schedule = schedule_from_dict(schedule_d, known_modes, repeatable)
    if victims == 1 and schedule is None:
        return 1, None
    if drop_mode is None:
        raise ValueError("victims and [schedule] need a [drop] (the victims' drop mode)")
    if drop_mode not in repeatable and not (schedule and (schedule.modes or schedule.drops)):
        raise ValueError(
            f"drop {drop_mode} cannot repeat, so not with victims > 1 or [schedule]; "
            f"modes that can: {', '.join(sorted(repeatable))}"
        )
    why = schedule_problem(
        plan_drops(schedule, victims, fault_start_s, drop_mode), victims, fault_start_s, fault_end_s
    )
    if why:
        raise ValueError(f"[schedule]: {why}")
    return victims, schedule
