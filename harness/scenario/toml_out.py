"""A scenario's dict form written as TOML (the reverse of tomllib for what a scenario holds:
tables, strings, numbers, booleans, lists of them, lists of flat tables). Pure. ``None`` is
left out: TOML has no null, and a scenario key left out takes its default."""

from __future__ import annotations

import json
import math
import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(k) -> str:
    k = str(k)
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v!r} has no TOML form in a scenario")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON's escapes are TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        inner = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{" + inner + "}" if inner else "{}"
    raise ValueError(f"{type(v).__name__} has no TOML form in a scenario")


def dumps(d: dict, header: str = "") -> str:
    """TOML text for ``d``; ``header``: comment lines put first (each prefixed ``# ``)."""
    lines = [f"# {line}" for line in header.splitlines()]

    def table(path: list[str], t: dict) -> None:
        plain = [(k, v) for k, v in t.items() if v is not None and not isinstance(v, dict)]
        subs = [(k, v) for k, v in t.items() if isinstance(v, dict)]
        if path and (plain or not subs):
            lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in plain)
        for k, v in subs:
            table([*path, k], v)

    table([], d)
    return "\n".join(lines) + "\n"
