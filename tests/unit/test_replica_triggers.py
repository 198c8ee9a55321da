"""Does this ending lose a session, and what does each trigger setting do about it? Hand cases."""

from __future__ import annotations

import errno

import pytest

from harness.replica.triggers import (
    action_for,
    counts,
    ending_of,
    hold_until,
    loss_reason,
    outstanding_after,
)


@pytest.mark.parametrize(
    ("exc", "ending"),
    [
        (None, "eof"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "reset"),
        (BrokenPipeError(errno.EPIPE, "pipe"), "reset"),
        (ConnectionAbortedError(errno.ECONNABORTED, "aborted"), "reset"),
        (TimeoutError(errno.ETIMEDOUT, "timed out"), "timeout"),
        (OSError(errno.EHOSTUNREACH, "no route"), "timeout"),
        (OSError(errno.EBADF, "bad fd"), "error"),
        (RuntimeError("no errno"), "error"),
    ],
)
def test_ending_of(exc: BaseException | None, ending: str) -> None:
    assert ending_of(exc) == ending


# (ending, client_messages, outstanding, incomplete_frame) -> reason
CASES = [
    # an SMB client that loses its connection
    (("reset", 3, 0, False), "reset"),
    (("reset", 3, 1, False), "reset"),
    (("timeout", 5, 0, False), "timeout"),
    (("timeout", 5, 2, False), "timeout"),
    # FIN: only with something outstanding
    (("eof", 4, 1, False), "close_outstanding"),
    (("eof", 4, 0, True), "close_outstanding"),
    (("eof", 4, 0, False), None),  # logoff answered, then close: graceful
    # session request only (0x81 -> 0x82), or nothing at all: never a loss
    (("eof", 0, 0, False), None),
    (("reset", 0, 0, False), None),
    (("timeout", 0, 0, False), None),
    # ... unless a frame was left half-sent
    (("reset", 0, 0, True), "reset"),
    (("eof", 0, 0, True), "close_outstanding"),
    # a frame stalled mid-way
    (("frame_timeout", 0, 0, True), "frame_timeout"),
    (("frame_timeout", 2, 1, True), "frame_timeout"),
    (("frame_timeout", 2, 1, False), None),  # completed meanwhile
    # an error that is neither a reset nor a timeout
    (("error", 3, 1, False), None),
]


@pytest.mark.parametrize(("facts", "reason"), CASES)
def test_loss_reason(facts: tuple, reason: str | None) -> None:
    ending, messages, outstanding, incomplete = facts
    got = loss_reason(ending, client_messages=messages, outstanding=outstanding,
                      incomplete_frame=incomplete)
    assert got == reason


@pytest.mark.parametrize(
    ("trigger", "counted"),
    [
        ("any", {"reset", "timeout", "frame_timeout", "close_outstanding"}),
        ("timeout", {"timeout", "frame_timeout"}),
        ("reset", {"reset"}),
        ("never", set()),
    ],
)
def test_counts(trigger: str, counted: set[str]) -> None:
    for reason in ("reset", "timeout", "frame_timeout", "close_outstanding"):
        assert counts(trigger, reason) == (reason in counted), (trigger, reason)


def test_action_for() -> None:
    assert action_for("any", "reset", 0.0) == "freeze"
    assert action_for("any", "reset", 50.0) == "degrade"
    assert action_for("timeout", "reset", 0.0) == "ignored"
    assert action_for("timeout", "frame_timeout", 0.0) == "freeze"
    assert action_for("reset", "close_outstanding", 0.0) == "ignored"
    assert action_for("never", "timeout", 50.0) == "ignored"


def test_hold_until_extends_never_stacks() -> None:
    assert hold_until(None, 10.0, 1.0) == 11.0
    assert hold_until(11.0, 10.5, 1.0) == 11.5  # a trigger mid-hold extends it
    assert hold_until(11.0, 10.5, 0.2) == 11.0  # never shortens
    assert hold_until(None, 10.0, 0.0) == 10.0


def test_outstanding_after() -> None:
    n = 0
    for kind in ("request", "request", "unsolicited", "response", "no_reply"):
        n = outstanding_after(n, kind)
    assert n == 1
    assert outstanding_after(0, "response") == 0  # extra responses never go below zero
