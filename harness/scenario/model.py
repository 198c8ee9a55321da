"""The scenario model: a dict in (a TOML file's tables, a script's SCENARIO, ``--set``
overrides), a validated ``Scenario`` out. Pure: harness.scenario.files finds and reads files;
harness.scenario.overrides applies ``--set``; harness.scenario.unsupported says what a dialect
x transport cannot express; harness.scenario.victim reads the [victim] table.

A scenario names the healthy clients, the probes and their rates, the phases, the drop, and
the bounds. Validation checks every key and value and reports the first problem in one line
with the file it came from (BadInput, exit 2).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from harness import dialects as dialects_mod
from harness.checkers.bounds import Bound, Bounds
from harness.drops import DROPS
from harness.errors import BadInput, one_line
from harness.probes import PROBES as PROBE_KINDS
from harness.scenario.crowd import CrowdSpec, crowd_from_dict
from harness.scenario.fault_schedule import FaultSchedule, faults_from_dict
from harness.scenario.overrides import apply_override
from harness.scenario.unsupported import unsupported
from harness.scenario.victim import VictimSpec, victim_from_dict
from harness.schedule import Phases
from harness.validate import non_finite_path, number

PROBES = tuple(PROBE_KINDS)
SESSION_PROBES = tuple(p for p, kind in PROBE_KINDS.items() if kind.needs_session)
DEFAULT_RATES_HZ = {p: kind.default_rate_hz for p, kind in PROBE_KINDS.items()}
FLOOR_SCALE = {p: kind.floor_scale for p, kind in PROBE_KINDS.items() if kind.floor_scale != 1.0}
DIALECTS = dialects_mod.DIALECTS  # exact names and aliases: see harness.dialects
TRANSPORTS = dialects_mod.TRANSPORTS
MAX_CLIENTS_PER_PROCESS = 32  # clients whose probes each need a process of their own
MAX_HEALTHY_CLIENTS = 256
MAX_IDLE_SESSIONS = 1000
TOP_KEYS = {
    "name",
    "description",
    "healthy_clients",
    "healthy_hosts",
    "probe_timeout_s",
    "dialect",
    "transport",
    "idle_sessions",
    "sessions_per_process",
    "evidence_timeout_s",
    "drop",
    "phases",
    "probes",
    "bounds",
    "host_stall_ms",
    "victim",
    "victims",
    "schedule",
    "crowd",
}


@dataclass(frozen=True)
class DropSpec:
    mode: str  # how the victim loses its session: a drop mode (harness.drops)
    params: dict = field(default_factory=dict)  # the drop's parameters (its defaults else)


@dataclass(frozen=True)
class Scenario:
    name: str  # the scenario's name (required): report entries and run directories
    description: str = ""  # one line: what the victim does
    healthy_clients: int = 3  # clients running the session probes (1-32; up to 256 pooled)
    healthy_hosts: int = 1  # lab hosts the healthy clients are spread over (round robin)
    idle_sessions: int = 0  # sessions that log on, hold a file open and do nothing else
    sessions_per_process: int = 1  # > 1: poolable probes' sessions share processes (pool.py)
    drop: DropSpec | None = None  # [drop]: how the victim loses its session (None: no drop)
    phases: Phases = field(default_factory=Phases)  # [phases]: seconds, back to back
    rates_hz: dict = field(default_factory=lambda: dict(DEFAULT_RATES_HZ))  # [probes]: Hz
    probe_timeout_s: float = 2.0  # per operation: a timeout is a failed probe, never a hang
    # as written: any (the server picks: the default), an exact name or an alias (smb3)
    dialect: str = dialects_mod.DEFAULT_DIALECT
    transport: str = dialects_mod.DEFAULT_TRANSPORT  # nbt (139) | tcp (445)
    bounds: Bounds = field(default_factory=Bounds)  # [bounds]: what the judged phases must hold
    evidence_timeout_s: float = 5.0  # how long to look for server-side proof of the drop
    host_stall_ms: float = 20.0  # canary lateness taken off overlapping samples; 0: never
    source: str = ""
    victim: VictimSpec | None = None  # [victim]: a holding on a shared file (None: nothing)
    crowd: CrowdSpec | None = None  # [crowd]: a Locust crowd as background load (None: none)
    # The dialect and transport were chosen by a matrix (--nbt-matrix, --matrix): a
    # combination the scenario cannot express is then a skip, not bad input.
    from_matrix: bool = False
    victims: int = 1  # victims (1-8), each with its own drop; more than 1: a repeatable drop
    schedule: FaultSchedule | None = None  # [schedule]: drops that repeat (None: one each)

    @property
    def dialect_exact(self) -> str:
        """The exact dialect asked for (``smb3`` -> ``3.1.1``; ``any``: the server picks):
        see harness.dialects."""
        return dialects_mod.exact(self.dialect)

    @property
    def combination(self) -> str:
        """``3.1.1-tcp``: the dialect x transport combination, as in item ids."""
        return dialects_mod.combination_id(self.dialect, self.transport)

    @property
    def probes(self) -> list[str]:
        return [p for p in PROBES if self.rates_hz.get(p, 0) > 0]

    def to_dict(self) -> dict:
        d = {
            "name": self.name,
            "description": self.description,
            "healthy_clients": self.healthy_clients,
            "healthy_hosts": self.healthy_hosts,
            "idle_sessions": self.idle_sessions,
            "sessions_per_process": self.sessions_per_process,
            "probe_timeout_s": self.probe_timeout_s,
            "dialect": self.dialect,
            "transport": self.transport,
            "evidence_timeout_s": self.evidence_timeout_s,
            "host_stall_ms": self.host_stall_ms,
            "phases": asdict(self.phases),
            "probes": dict(self.rates_hz),
            "bounds": {
                **asdict(self.bounds.default),
                "per_probe": {k: asdict(v) for k, v in self.bounds.per_probe.items()},
            },
        }
        if self.drop:
            d["drop"] = {"mode": self.drop.mode, "params": dict(self.drop.params)}
        if self.victim:
            d["victim"] = self.victim.to_dict()
        if self.victims > 1:
            d["victims"] = self.victims
        if self.schedule:
            d["schedule"] = self.schedule.to_dict()
        if self.crowd:
            d["crowd"] = self.crowd.to_dict()
        return d

    def with_overrides(self, overrides: dict[str, str]) -> Scenario:
        """Apply KEY=VALUE overrides (dotted keys, e.g. phases.fault_s=2)."""
        if not overrides:
            return self
        d = copy.deepcopy(self.to_dict())
        for key, raw in overrides.items():
            apply_override(d, key, raw)
        if self.from_matrix:  # a matrix cell keeps its combination (and its name says it)
            d["dialect"], d["transport"] = self.dialect, self.transport
        return from_dict(
            d, f"{self.source or self.name} (with overrides)", from_matrix=self.from_matrix
        )

    def with_combination(self, dialect: str, transport: str) -> Scenario:
        """This scenario for one cell of a dialect x transport matrix, named
        ``name[3.1.1-tcp]`` (its own report entry and directory). A combination it cannot
        express (see ``unsupported``) is not refused here: the run skips it with the reason."""
        d = copy.deepcopy(self.to_dict())
        d["dialect"], d["transport"] = dialect, transport
        d["name"] = f"{self.name}[{dialects_mod.combination_id(dialect, transport)}]"
        return from_dict(d, self.source or self.name, from_matrix=True)


FIELD_DEFAULTS = {f.name: f.default for f in fields(Scenario)}  # a key left out of a file


def _bound(d: dict, where: str) -> Bound:
    try:
        return Bound(**d)
    except TypeError as exc:
        raise BadInput(one_line(f"{where}: unknown bound key ({exc})")) from None
    except ValueError as exc:
        raise BadInput(one_line(f"{where}: {exc}")) from None


def from_dict(d: dict, source: str, from_matrix: bool = False) -> Scenario:
    """Build and validate a Scenario from its dict form (as in a TOML file).

    ``from_matrix``: the dialect and transport come from a matrix, so a combination the
    scenario cannot express is left to the run (a skip) instead of refused here."""

    def bad(msg: str) -> BadInput:
        return BadInput(one_line(f"{source}: {msg}"))

    if not isinstance(d, dict):
        raise bad("a scenario must be a table")
    unknown = set(d) - TOP_KEYS
    if unknown:
        raise bad(f"unknown key(s): {', '.join(sorted(unknown))}")
    path = non_finite_path(d)
    if path:  # nan passes every comparison, inf never ends: neither is a setting
        raise bad(f"{path} must be a finite number (nan and inf are not settings)")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad("'name' (a non-empty string) is required")

    numbers: dict[str, Any] = {}  # the numeric keys, checked, as the Scenario fields they set

    def num(key: str, lo: float, hi: float, integer: bool = False, lo_open: bool = False):
        """Check the number at ``key`` (Scenario's default where absent), keep it in
        ``numbers`` (an int, or a float) and return it."""
        try:
            value = number(
                d.get(key, FIELD_DEFAULTS[key]), key, lo, hi, integer=integer, lo_open=lo_open
            )
        except ValueError as exc:
            raise bad(str(exc)) from None
        numbers[key] = value if integer else float(value)
        return numbers[key]

    healthy = num("healthy_clients", 1, MAX_HEALTHY_CLIENTS, integer=True)
    num("idle_sessions", 0, MAX_IDLE_SESSIONS, integer=True)
    per_process = num("sessions_per_process", 1, MAX_HEALTHY_CLIENTS, integer=True)
    num("healthy_hosts", 1, healthy, integer=True)  # at most one per healthy client
    num("probe_timeout_s", 0.05, 60)
    num("evidence_timeout_s", 0, 600, lo_open=True)
    num("host_stall_ms", 0, 10_000)  # 0 turns the canary's excuse off
    try:
        dialect = dialects_mod.dialect_name(d.get("dialect", dialects_mod.DEFAULT_DIALECT))
        dialects_mod.exact(dialect)
    except ValueError as exc:
        raise bad(str(exc)) from None
    transport = d.get("transport", dialects_mod.DEFAULT_TRANSPORT)
    if not isinstance(transport, str) or transport not in TRANSPORTS:
        raise bad(
            f"transport must be one of {', '.join(TRANSPORTS)} (nbt: TCP 139 with an NBT "
            f"session request; tcp: direct TCP 445), got {transport!r}"[:300]
        )

    phases_d = d.get("phases", {})
    if not isinstance(phases_d, dict):
        raise bad("[phases] must be a table")
    try:
        phases = Phases(**phases_d)
    except TypeError:
        raise bad(
            f"[phases] takes warmup_s, baseline_s, fault_s, recovery_s; got {sorted(phases_d)}"
        ) from None
    except ValueError as exc:
        raise bad(str(exc)) from None

    rates = dict(DEFAULT_RATES_HZ)
    probes_d = d.get("probes", {})
    if not isinstance(probes_d, dict):
        raise bad("[probes] must be a table of probe = rate_hz")
    for probe, rate in probes_d.items():
        if probe not in PROBES:
            raise bad(f"unknown probe {probe!r} (known: {', '.join(PROBES)})")
        try:
            rates[probe] = float(number(rate, f"probe {probe} rate (Hz)", 0, 1000))
        except ValueError as exc:
            raise bad(f"{exc}; the rate must be a number of Hz from 0 to 1000") from None
    if healthy > MAX_CLIENTS_PER_PROCESS:  # a crowd: defaults it cannot run go quietly
        for p, kind in PROBE_KINDS.items():  # (at its default rate: overrides carry every rate)
            if kind.off_in_crowds and rates[p] == kind.default_rate_hz:
                rates[p] = 0.0
    # A shared request class at its low default rate (1-2 Hz) sends once per period: where a
    # judged phase (or the baseline) is shorter, it goes at one send per shortest phase, so
    # that every phase has samples of it (an open-loop stream at rate r has one send in any
    # window of 1/r s). Only at its default rate: a rate asked for is kept.
    shortest_s = min(x for x in (phases.baseline_s, phases.fault_s, phases.recovery_s) if x > 0)
    for p, kind in PROBE_KINDS.items():
        if kind.shared and rates[p] == kind.default_rate_hz and 0 < rates[p] < 1.0 / shortest_s:
            rates[p] = round(1.0 / shortest_s, 6)
    if not any(rates.values()):
        raise bad("at least one probe needs a rate > 0")
    own_process = [
        p
        for p in SESSION_PROBES
        if rates[p] > 0 and not (PROBE_KINDS[p].poolable and per_process > 1)
    ]
    if own_process and healthy > MAX_CLIENTS_PER_PROCESS:
        raise bad(
            f"{healthy} healthy clients: {', '.join(own_process)} runs a process per client "
            f"(at most {MAX_CLIENTS_PER_PROCESS}); set sessions_per_process > 1 for "
            f"{', '.join(p for p, k in PROBE_KINDS.items() if k.poolable)} and "
            f"probes.<other>=0"
        )
    bounds_d = d.get("bounds", {})
    if not isinstance(bounds_d, dict):
        raise bad("[bounds] must be a table")
    bounds_d = dict(bounds_d)
    per_probe_d = bounds_d.pop("per_probe", {})
    if not isinstance(per_probe_d, dict):
        raise bad("[bounds.per_probe] must be a table of probe = {bound = value}")
    default = _bound(bounds_d, f"{source}: [bounds]")
    per_probe = {}
    for probe, bd in per_probe_d.items():
        if probe not in PROBES:
            raise bad(f"[bounds.per_probe]: unknown probe {probe!r}")
        if not isinstance(bd, dict):
            raise bad(f"[bounds.per_probe.{probe}] must be a table of bounds, got {bd!r}"[:300])
        per_probe[probe] = _bound(
            {**asdict(default), **bd}, f"{source}: [bounds.per_probe.{probe}]"
        )

    drop = None
    if "drop" in d and d["drop"] is not None:
        drop_d = d["drop"]
        if not isinstance(drop_d, dict) or not isinstance(drop_d.get("mode"), str):
            raise bad("[drop] needs a 'mode'")
        if set(drop_d) - {"mode", "params"}:
            raise bad(f"[drop] takes mode and params, got {sorted(drop_d)}")
        mode = drop_d["mode"]
        if mode not in DROPS:
            raise bad(f"unknown drop mode {mode!r} (known: {', '.join(sorted(DROPS))})")
        params = drop_d.get("params", {})
        if not isinstance(params, dict):
            raise bad(f"[drop.params] must be a table, got {params!r}"[:300])
        try:
            DROPS[mode](**params)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise bad(f"[drop.params] for {mode}: {exc}") from None
        if phases.fault_s <= 0:
            raise bad("a scenario with a drop needs phases.fault_s > 0")
        drop = DropSpec(mode, dict(params))

    try:  # the tables read by modules of their own: the first problem, with the file
        victim = victim_from_dict(d.get("victim"), rates)
        victims, schedule = faults_from_dict(d, drop.mode if drop else None, phases, DROPS)
        crowd = crowd_from_dict(d.get("crowd"))
    except ValueError as exc:
        raise bad(str(exc)) from None
    scenario = Scenario(
        name=name.strip(),
        victims=victims,
        schedule=schedule,
        victim=victim,
        crowd=crowd,
        description=str(d.get("description", "")),
        drop=drop,
        phases=phases,
        rates_hz=rates,
        dialect=dialect,
        transport=transport,
        bounds=Bounds(default, per_probe, FLOOR_SCALE),
        source=source,
        from_matrix=from_matrix,
        **numbers,
    )
    if not from_matrix:
        why = unsupported(scenario)
        if why:
            raise bad(why)
    return scenario
