"""When does the replica's NetBIOS layer "lose a session", and what does it do then? Pure code.

Two steps, both pure functions of facts the relay observed on one client connection:

1. :func:`loss_reason` turns how the connection ended (or stalled) into a *reason*, or None
   when it is not a session loss at all:

   - ``frame_timeout``: a frame from the client stayed incomplete for ``frame_timeout_s``
     -> ``frame_timeout``;
   - ``reset``: ECONNRESET, EPIPE or ECONNABORTED on the client socket -> ``reset``;
   - ``timeout``: ETIMEDOUT (TCP_USER_TIMEOUT, keepalive; also a zero-window "stalled
     reader"), or EHOSTUNREACH/ENETUNREACH/EHOSTDOWN that Linux reports instead when the
     last retransmissions drew ICMP errors -> ``timeout``;
   - ``eof``: a FIN while a request is outstanding or a frame incomplete
     -> ``close_outstanding``;
   - ``half_logon``: a logon the client left half done for ``frame_timeout_s``
     (harness.replica.logon) -> ``half_logon``, counted by the ``half_logon`` trigger only.

   A connection that never sent a SESSION MESSAGE (nothing at all, or only an NBT session
   request 0x81 answered by 0x82) and has no incomplete frame never loses a session, however
   it ends; a FIN with nothing outstanding (logoff, then close) is a graceful close.

2. :func:`action_for` says what the ``trigger`` setting makes of that reason: ``freeze`` (or
   ``degrade`` when ``degrade_ms`` > 0) or ``ignored``.
"""

from __future__ import annotations

import errno
from typing import Literal

Reason = Literal["reset", "timeout", "frame_timeout", "close_outstanding", "half_logon"]
Ending = Literal["eof", "reset", "timeout", "frame_timeout", "half_logon", "error"]
Action = Literal["freeze", "degrade", "hold_create", "hold_logon", "hold_lock", "ignored"]
# What a hold holds: everything (a freeze, the KB's NetBIOS layer), or one class of request
# while everything else flows: ``create`` opens (a server that stalls the open path),
# ``logon`` new logons (NEGOTIATE, SESSION_SETUP, TREE_CONNECT: a server whose established
# sessions work but which lets nobody new in), ``lock`` byte-range locks.
HOLDS: tuple[str, ...] = ("all", "create", "logon", "lock")

TRIGGERS: tuple[str, ...] = ("any", "timeout", "reset", "never", "half_logon")

# Which reasons each trigger setting counts. A frame left incomplete is a NetBIOS-level
# timeout, so it belongs to "timeout" as well as "any".
_COUNTED: dict[str, frozenset[str]] = {
    "any": frozenset({"reset", "timeout", "frame_timeout", "close_outstanding"}),
    "timeout": frozenset({"timeout", "frame_timeout"}),
    "reset": frozenset({"reset"}),
    "never": frozenset(),
    # A client that stops in the middle of its logon and stays connected (the half_logon
    # drop): a server that serializes logons makes every other one wait on it.
    "half_logon": frozenset({"half_logon"}),
}

_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
# TCP gave up on the peer: the user timeout or keepalive expired (ETIMEDOUT), or the last
# retransmissions drew ICMP errors, which Linux then reports instead of ETIMEDOUT.
_TIMEOUT_ERRNOS = frozenset(
    {errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
)


def ending_of(exc: BaseException | None) -> Ending:
    """How a connection ended, from the exception its socket raised (None: a clean FIN)."""
    if exc is None:
        return "eof"
    err = getattr(exc, "errno", None)
    if err in _RESET_ERRNOS:
        return "reset"
    if err in _TIMEOUT_ERRNOS:
        return "timeout"
    return "error"


def loss_reason(
    ending: Ending, *, client_messages: int, outstanding: int, incomplete_frame: bool
) -> Reason | None:
    """The session-loss reason for a client connection's ending, or None if it is not one.

    ``client_messages``: complete SESSION MESSAGE frames the client sent on this connection.
    ``outstanding``: requests among them whose response has not been delivered to it yet.
    ``incomplete_frame``: part of a frame from the client arrived and the rest has not.
    """
    if ending == "frame_timeout":
        return "frame_timeout" if incomplete_frame else None
    if ending == "half_logon":
        return "half_logon"
    if client_messages == 0 and not incomplete_frame:
        return None  # never carried SMB: a bare connection or a session-request-only probe
    if ending == "reset":
        return "reset"
    if ending == "timeout":
        return "timeout"
    if ending == "eof" and (outstanding > 0 or incomplete_frame):
        return "close_outstanding"
    return None


def counts(trigger: str, reason: str) -> bool:
    """True if the ``trigger`` setting treats ``reason`` as a lost session."""
    return reason in _COUNTED[trigger]


def action_for(trigger: str, reason: str, degrade_ms: float) -> Action:
    """What the relay does about a session loss: freeze, degrade (degrade_ms > 0), or ignore."""
    if not counts(trigger, reason):
        return "ignored"
    return "degrade" if degrade_ms > 0 else "freeze"


def hold_until(current_until_s: float | None, now_s: float, hold_s: float) -> float:
    """End of the hold after a trigger at ``now_s``: holds extend, they never stack."""
    new_until_s = now_s + hold_s
    if current_until_s is None:
        return new_until_s
    return max(current_until_s, new_until_s)


def outstanding_after(outstanding: int, kind: str) -> int:
    """Requests still unanswered after one SESSION MESSAGE of ``kind`` passed.

    A request adds one, a response removes one (never below zero: some requests get several
    responses, e.g. an SMB1 ECHO with EchoCount > 1 or a multi-part transaction reply);
    ``no_reply`` and ``unsolicited`` messages change nothing.
    """
    if kind == "request":
        return outstanding + 1
    if kind == "response":
        return outstanding - 1 if outstanding > 0 else 0
    return outstanding
