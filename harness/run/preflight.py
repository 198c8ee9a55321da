"""Before any client starts: what this run cannot do here, the reason it is skipped. Asks the
scenario (what its dialect x transport cannot express), the target (what it lacks), the drop
(what it needs on the victim's host) and then the server itself (one NEGOTIATE per
combination and target, cached by the target)."""

from __future__ import annotations

from harness.crowd.control import placement_error
from harness.drops.base import Drop
from harness.errors import HarnessError
from harness.run.plan import needs_sessions
from harness.scenario.model import Scenario
from harness.scenario.unsupported import unsupported
from harness.targets.base import Target


def skip_reason(scenario: Scenario, target: Target, drop: Drop | None) -> str | None:
    """Why the scenario cannot run against ``target``, or None: it can. HarnessError when the
    server gave no answer to the NEGOTIATE (a network error), or a server the harness
    configures lacks the combination: an error, not a skip; also when the crowd's master
    cannot be placed where its local workers reach it."""
    if scenario.crowd:
        error = placement_error(scenario.crowd, target)
        if error:
            raise HarnessError(error)
    why = unsupported(scenario) or target.unsupported(scenario)
    if drop and not why:
        why = drop.unsupported(target.client_netns("victim"))
    if needs_sessions(scenario, drop) and not why:
        why = target.offers(scenario.dialect, scenario.transport)
    return why
