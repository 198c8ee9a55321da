"""What a scenario's dialect x transport cannot express: each registered check returns the
reason, or None. A scenario file (or ``--set``) asking for such a combination is bad input
(exit 2); a matrix cell is skipped with the reason. Other parts add their checks with
``@unsupported_check`` (e.g. holdings: a lease needs SMB 2.1+, a durable v2 handle SMB 3.0+).
Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import dialects as dialects_mod
from harness.clients.holdings import holding_problem
from harness.drops import DROPS

# A check reads a built harness.scenario.model.Scenario (the model imports this module, so
# the type is named here, not imported).
Check = Callable[[Any], str | None]

UNSUPPORTED_CHECKS: list[Check] = []


def unsupported_check(check: Check) -> Check:
    """Register ``check(scenario) -> reason | None`` (a decorator)."""
    UNSUPPORTED_CHECKS.append(check)
    return check


def unsupported(scenario: Any) -> str | None:
    """Why the scenario's dialect x transport cannot express what it asks for, or None."""
    for check in UNSUPPORTED_CHECKS:
        why = check(scenario)
        if why:
            return why
    return None


@unsupported_check
def _pools_need_smb2(scenario: Any) -> str | None:
    if dialects_mod.is_smb1(scenario.dialect) and (
        scenario.idle_sessions or scenario.sessions_per_process > 1
    ):
        return "idle_sessions and sessions_per_process need SMB 2 or 3 (not dialect nt1)"
    return None


@unsupported_check
def _drop_needs_smb2(scenario: Any) -> str | None:
    if scenario.drop and dialects_mod.is_smb1(scenario.dialect):
        schedule = getattr(scenario, "schedule", None)  # its modes too (fault_schedule)
        more = [*schedule.modes, *(d.mode for d in schedule.drops)] if schedule else []
        for mode in dict.fromkeys([scenario.drop.mode, *more]):
            why = DROPS[mode].smb1_unsupported
            if why:
                return f"drop {mode} needs SMB 2 or 3 ({why}); dialect is nt1"
    return None


@unsupported_check
def _holding_needs_its_dialect(scenario: Any) -> str | None:
    """A holding the dialect cannot express (a lease over SMB1, durable v2 below 3.0)."""
    if scenario.victim is None:
        return None
    why = holding_problem(scenario.victim.holds, scenario.dialect)
    return why and f"[victim] {why}"


@unsupported_check
def _drop_needs_its_holding(scenario: Any) -> str | None:
    """A drop that acts on what the victim holds (reclaim: a durable handle) without it."""
    if scenario.drop is None:
        return None
    need = DROPS[scenario.drop.mode].needs_holdings
    holds = scenario.victim.holds if scenario.victim else None
    if need and holds not in need:
        return (
            f"drop {scenario.drop.mode} needs [victim] holds = one of {', '.join(need)}"
            f" (the scenario's: {holds or 'none'})"
        )
    return None
