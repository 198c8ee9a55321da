"""Scenarios: the model (harness.scenario.model: dict in, validated Scenario out, with
overrides, unsupported checks and the [victim] table beside it) and the files
(harness.scenario.files: finding and loading them).

A scenario script (a .py scenario defining SCENARIO) builds ``harness.scenario.Scenario``
with ``DropSpec`` and ``VictimSpec``, and other parts add checks with
``harness.scenario.unsupported_check``: those names are the scripts' documented interface,
so they are handed on here."""

from harness.scenario.model import DropSpec, Scenario
from harness.scenario.unsupported import unsupported_check
from harness.scenario.victim import VictimSpec

__all__ = ["DropSpec", "Scenario", "VictimSpec", "unsupported_check"]
