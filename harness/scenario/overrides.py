"""What the command line changes in loaded scenarios: ``KEY=VALUE`` overrides (``--set``,
``--nbt-set``, an ini line, the environment) applied to a scenario's dict form, dotted keys
for tables (``phases.fault_s=2``); and the dialect x transport matrix (``--dialect``,
``--transport``, ``--matrix``), each scenario once per cell. Pure."""

from __future__ import annotations

import json

from harness import dialects as dialects_mod
from harness.errors import BadInput


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings (from --set, --nbt-set, ini or environment) as {key: raw value}."""
    out = {}
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise BadInput(f"invalid scenario override {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def parse_value(raw: str):
    """An override's value: JSON if it parses (numbers, true, lists), else the string."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return raw


def apply_override(d: dict, key: str, raw) -> None:
    parts = key.split(".")
    if not all(parts):
        raise BadInput(f"invalid override key {key!r}")
    node = d
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise BadInput(f"invalid override key {key!r}: {p} is not a table")
    node[parts[-1]] = parse_value(raw) if isinstance(raw, str) else raw


def expand_matrix(
    scenarios: list,
    dialects_text: str | None,
    transports_text: str | None,
    everything: bool,
    where: str = "--dialect/--transport",
) -> list:
    """Each scenario (a harness.scenario.model.Scenario) once per dialect x transport asked
    for (none asked: as they are)."""
    parse = dialects_mod.parse_list
    try:
        ds = parse(dialects_text, "dialect") if dialects_text is not None else None
        ts = parse(transports_text, "transport") if transports_text is not None else None
    except ValueError as exc:
        raise BadInput(f"{where}: {exc}") from None
    out = []
    for s in scenarios:
        cells = dialects_mod.matrix(ds, ts, everything, s.dialect, s.transport)
        out += [s.with_combination(d, t) for d, t in cells] if cells else [s]
    return out
