"""One check for every number a user gives (scenario keys, overrides, bounds, phases, drop
params). Pure. A number is an int or float, never a bool (TOML's ``true`` is not 1), always
finite (``nan`` passes every comparison, ``inf`` never ends a phase), and inside its range.
"""

from __future__ import annotations

import math


def number(
    value, what: str, lo: float, hi: float, *, integer: bool = False, lo_open: bool = False
) -> int | float:
    """``value`` if it is a finite number in [lo, hi] ((lo, hi] with ``lo_open``);
    otherwise ValueError with one line naming ``what``, the range and the value."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if (
        not ok_type
        or isinstance(value, bool)
        or (isinstance(value, float) and not math.isfinite(value))
        or not (lo < value if lo_open else lo <= value)
        or not value <= hi
    ):
        span = f"in ({lo:g}, {hi:g}]" if lo_open else f"from {lo:g} to {hi:g}"
        raise ValueError(f"{what} must be {kind} {span}, got {value!r}"[:300])
    return value


def table(value, name: str, known) -> dict:
    """``value`` if it is a table (a dict) of ``known`` keys only; otherwise ValueError with
    one line naming the table ``[name]`` (and, for unknown keys, the known ones)."""
    if not isinstance(value, dict):
        raise ValueError(f"[{name}] must be a table")
    unknown = set(value) - set(known)
    if unknown:
        raise ValueError(
            f"[{name}]: unknown key(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )
    return value


def non_finite_path(value, path: str = "") -> str | None:
    """The dotted key of the first nan or inf anywhere in a nested dict/list, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "value"
    if isinstance(value, dict):
        for k, v in value.items():
            found = non_finite_path(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = non_finite_path(v, f"{path}[{i}]")
            if found:
                return found
    return None
