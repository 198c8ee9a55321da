"""The replica's hold policy as a pure state machine: when a counted session loss freezes or
degrades the relay, for how long, and what a hold held. Times are the caller's clock in
seconds (the relay uses its event loop's); no I/O.

States: *relaying* (``fast``), *frozen* (nothing is written anywhere, everything is read and
held), *degrading* (everything is delayed by ``degrade_s``). A counted loss starts a hold
that ends ``hold_s`` after it; a loss during a hold extends it (from the latest loss; holds
never stack). ``end`` returns to relaying and says what the hold held.

With ``holds = "create"`` a counted loss starts a *create hold* instead of a freeze: the relay
stays fast for everything but opens (SMB2 CREATE; SMB1 NT_CREATE_ANDX, OPEN_ANDX), which
(with whatever follows them on their connection) wait for the end of the hold.
``holds = "logon"`` holds new logons (NEGOTIATE, SESSION_SETUP, TREE_CONNECT) and
``holds = "lock"`` byte-range locks (SMB2 LOCK, SMB1 LOCKING_ANDX) the same way.
:meth:`Hold.holds_request` says which client message is held.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.replica.framing import is_create_request, is_lock_request, is_logon_request
from harness.replica.triggers import HOLDS, Action, action_for, hold_until


@dataclass(frozen=True)
class Decision:
    action: Action  # freeze | degrade | ignored
    extended: bool  # the loss came during a hold and moved its end
    until_s: float | None  # when the hold ends (None: ignored)


# What each request hold holds (a predicate on a client message's first bytes).
HELD_REQUESTS = {"create": is_create_request, "logon": is_logon_request, "lock": is_lock_request}


class Hold:
    """Plain attributes on purpose: ``fast``, ``frozen`` and ``degrading`` are read for every
    chunk the relay forwards."""

    def __init__(self, trigger: str, hold_s: float, degrade_ms: float, holds: str = "all") -> None:
        if holds not in HOLDS:
            raise ValueError(f"holds must be one of {', '.join(HOLDS)}, got {holds!r}")
        self.trigger = trigger
        self.holds = holds
        self.hold_s = hold_s
        self.degrade_ms = degrade_ms
        self.degrade_s = degrade_ms / 1000.0
        self.fast = True
        self.frozen = False
        self.degrading = False
        self.holding_creates = False  # a request hold is on (create, logon or lock)
        self._held = HELD_REQUESTS.get(holds)
        self.action: Action | None = None  # of the current (or last) hold
        self.started_s = 0.0
        self.until_s: float | None = None
        self.held_bytes = 0
        self.held_datagrams = 0

    def on_loss(self, reason: str, now_s: float) -> Decision:
        """A client connection lost its session for ``reason`` at ``now_s``."""
        action = action_for(self.trigger, reason, self.degrade_ms)
        if action == "ignored":
            return Decision(action, False, None)
        if self._held is not None:
            action = f"hold_{self.holds}"  # type: ignore[assignment]
        extended = self.until_s is not None
        if not extended:
            self.action = action
            self.started_s = now_s
            self.held_bytes = self.held_datagrams = 0
        self.until_s = hold_until(self.until_s, now_s, self.hold_s)
        self.frozen = action == "freeze"
        self.degrading = action == "degrade"
        self.holding_creates = self._held is not None
        self.fast = self.holding_creates  # a create hold lets everything else through at once
        return Decision(action, extended, self.until_s)

    def holds_request(self, head: bytes) -> bool:
        """Whether a client message (its body's first bytes) waits for the end of the hold:
        during a request hold, a request of its class (create: an open; logon: NEGOTIATE,
        SESSION_SETUP, TREE_CONNECT; lock: a byte-range lock); never otherwise (a freeze
        holds by state)."""
        return self.holding_creates and self._held is not None and self._held(head)

    def note_held(self, nbytes: int = 0, datagrams: int = 0) -> None:
        self.held_bytes += nbytes
        self.held_datagrams += datagrams

    def end(self, now_s: float) -> dict:
        """Back to relaying; {action, held_s, held_bytes, held_datagrams} of the hold."""
        summary = {
            "action": self.action,
            "held_s": round(now_s - self.started_s, 6),
            "held_bytes": self.held_bytes,
            "held_datagrams": self.held_datagrams,
        }
        self.fast = True
        self.frozen = self.degrading = self.holding_creates = False
        self.until_s = None
        return summary
