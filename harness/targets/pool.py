"""Targets started once and kept for a session (the pytest plugin's): a test that comes back to
a target finds it running instead of starting it again."""

from __future__ import annotations

from collections import OrderedDict

from harness.errors import HarnessError, InfraError, TargetUnavailable
from harness.targets.spec import make_target, parse_target


class TargetPool:
    """Started targets, kept for the session: a test that comes back to a target (local after
    replica:any, as the control tests alternate) finds it running instead of starting it
    again. At most ``MAX_STARTED`` at once (each is a Samba with its lab); the one used least
    recently is stopped to make room. A target that failed to start fails again, at once."""

    MAX_STARTED = 4

    def __init__(self) -> None:
        # (spec, hold_s, degrade_ms) -> (target, failure or None, failure type), oldest use first
        self.started: OrderedDict = OrderedDict()

    def get(self, spec_text: str, hold_s=None, degrade_ms=None):
        key = (spec_text, hold_s, degrade_ms)
        if key in self.started:
            self.started.move_to_end(key)
            target, failure, failure_type = self.started[key]
            if failure:
                raise failure_type(failure)
            return target
        while len(self.started) >= self.MAX_STARTED:
            _, (oldest, _, _) = self.started.popitem(last=False)
            oldest.stop()
        target = make_target(parse_target(spec_text), hold_s=hold_s, degrade_ms=degrade_ms)
        self.started[key] = (target, None, InfraError)  # stop() reaches it whatever happens
        try:
            target.start()
        except HarnessError as exc:
            target.stop()
            failure = f"target {spec_text} unreachable: {exc}"
            failure_type = TargetUnavailable if isinstance(exc, TargetUnavailable) else InfraError
            self.started[key] = (target, failure, failure_type)
            raise failure_type(failure) from None
        return target

    def close(self) -> None:
        while self.started:
            _, (target, _, _) = self.started.popitem(last=False)
            target.stop()
