"""The scenario's [victim] table: what the victim holds on a shared file when it drops, and
how long a contended opener may wait (``VictimSpec``), read and checked from its dict form.
Pure; harness.scenario.model builds the rest of the scenario around it."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.clients.holdings import HOLDINGS
from harness.probes import PROBES as PROBE_KINDS
from harness.validate import number, table

VICTIM_KEYS = {"holds", "max_wait_s", "max_wait_s_by_target", "durable_timeout_ms", "max_answer_s"}


@dataclass(frozen=True)
class VictimSpec:
    """What the victim holds when it drops, and how long a contended opener may wait."""

    holds: str  # what the victim holds on the shared file: a holding (clients.holdings)
    max_wait_s: float | None = None  # drop start -> the first successful contended open
    max_wait_s_by_target: dict = field(default_factory=dict)  # target kind -> max_wait_s
    durable_timeout_ms: int = 0  # durable_v2: the Timeout asked for (0: the server's default)
    max_answer_s: float | None = None  # drop start -> the first answer (granted or refused)

    def max_wait_for(self, target: str | None, kind: str | None = None) -> float | None:
        """The bound for a target: by its name (``docker:trixie``, a named URL target), else
        by its kind (``local``, ``replica``, ``docker``, ``remote``), else ``max_wait_s``."""
        by = self.max_wait_s_by_target
        return by.get(target, by.get(kind, self.max_wait_s))

    def to_dict(self) -> dict:
        d = {
            "holds": self.holds,
            "durable_timeout_ms": self.durable_timeout_ms,
            "max_wait_s_by_target": dict(self.max_wait_s_by_target),
        }
        if self.max_wait_s is not None:
            d["max_wait_s"] = self.max_wait_s
        if self.max_answer_s is not None:
            d["max_answer_s"] = self.max_answer_s
        return d


def victim_from_dict(victim_d, rates: dict) -> VictimSpec | None:
    """The [victim] table: a known holding (whether the dialect can express it is an
    unsupported_check); smb_contend only with one. ``rates``: the scenario's probe rates (Hz).
    ValueError names the first problem (the model adds the file it came from)."""
    contended = [
        p for p, kind in PROBE_KINDS.items() if kind.judged_by_access and rates.get(p, 0) > 0
    ]
    if victim_d is None or victim_d == {}:
        if contended:
            raise ValueError(f"probe {contended[0]} needs a holding: set [victim] holds")
        return None
    table(victim_d, "victim", VICTIM_KEYS)
    holds = victim_d.get("holds")
    if not isinstance(holds, str):
        raise ValueError("[victim] needs 'holds' (a string)")
    if holds not in HOLDINGS:
        raise ValueError(f"[victim] unknown holding {holds!r} (known: {', '.join(HOLDINGS)})")
    max_wait = victim_d.get("max_wait_s")
    if max_wait is not None:
        max_wait = float(number(max_wait, "[victim] max_wait_s", 0, 3600, lo_open=True))
    by_target = victim_d.get("max_wait_s_by_target", {})
    if not isinstance(by_target, dict):
        raise ValueError("[victim] max_wait_s_by_target must be a table of target = seconds")
    by_target = {
        str(k): float(number(v, f"[victim] max_wait_s_by_target.{k}", 0, 3600, lo_open=True))
        for k, v in by_target.items()
    }
    durable_ms = int(
        number(
            victim_d.get("durable_timeout_ms", 0),
            "[victim] durable_timeout_ms",
            0,
            300_000,
            integer=True,
        )
    )
    max_answer = victim_d.get("max_answer_s")
    if max_answer is not None:
        max_answer = float(number(max_answer, "[victim] max_answer_s", 0, 3600, lo_open=True))
    return VictimSpec(holds, max_wait, by_target, durable_ms, max_answer)
