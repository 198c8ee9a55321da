"""Scenario overrides: ``KEY=VALUE`` pairs (``--set``, ``--nbt-set``, an ini line, the
environment) applied to a scenario's dict form, dotted keys for tables
(``phases.fault_s=2``). Pure."""

from __future__ import annotations

import json

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
