"""Does this ending lose a session, and what does each trigger setting do about it? Hand cases."""

from __future__ import annotations

import errno

import pytest

from harness.errors import BadInput
from harness.replica.cli import main
from harness.replica.config import ReplicaConfig
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
    got = loss_reason(
        ending, client_messages=messages, outstanding=outstanding, incomplete_frame=incomplete
    )
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


# --- the settings a replica accepts --------------------------------------------------------


def test_config_defaults_upstream_ports_to_listen_ports() -> None:
    cfg = ReplicaConfig("10.213.0.2", "10.213.0.1")
    assert (cfg.nbt_port, cfg.smb_port, cfg.ns_port) == (139, 445, 137)
    assert (cfg.upstream_nbt_port, cfg.upstream_smb_port, cfg.upstream_ns_port) == (139, 445, 137)
    assert (cfg.trigger, cfg.hold_s, cfg.degrade_ms) == ("any", 1.0, 0.0)
    assert (cfg.user_timeout_ms, cfg.frame_timeout_s, cfg.log_path) == (3000, 1.0, None)
    cfg = ReplicaConfig(
        "127.0.0.1",
        "127.0.0.1",
        nbt_port=0,
        upstream_nbt_port=1139,
        smb_port=1445,
        upstream_smb_port=2445,
        ns_port=0,
        upstream_ns_port=1137,
    )
    assert cfg.upstream_smb_port == 2445


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trigger": "sometimes"}, "unknown trigger"),
        ({"hold_s": -1.0}, "hold_s"),
        ({"hold_s": float("nan")}, "hold_s"),
        ({"degrade_ms": -5}, "degrade_ms"),
        ({"frame_timeout_s": 0}, "frame_timeout_s"),
        ({"user_timeout_ms": -1}, "user_timeout_ms"),
        ({"nbt_port": 70000}, "nbt_port"),
        ({"nbt_port": 0}, "upstream_nbt_port"),  # listening on 0 needs an explicit upstream
        ({"listen_host": "localhost"}, "listen address"),
        ({"upstream_host": "10.213.0.1", "listen_host": "10.213.0.1"}, "to itself"),
        ({"smb_port": 139}, "both 139"),
    ],
)
def test_config_rejects_bad_values_with_one_line(kwargs: dict, message: str) -> None:
    args = {"listen_host": "10.213.0.2", "upstream_host": "10.213.0.1", **kwargs}
    with pytest.raises(BadInput, match=message) as info:
        ReplicaConfig(**args)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_main_returns_2_for_a_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--listen", "10.213.0.2", "--upstream", "10.213.0.1", "--hold-s", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--hold-s" in err


def test_a_half_logon_is_counted_by_its_own_trigger_only():
    from harness.replica.triggers import TRIGGERS, action_for, loss_reason

    assert "half_logon" in TRIGGERS
    assert loss_reason("half_logon", client_messages=2, outstanding=0, incomplete_frame=False) == "half_logon"
    assert action_for("half_logon", "half_logon", 0.0) == "freeze"
    assert [t for t in TRIGGERS if action_for(t, "half_logon", 0.0) != "ignored"] == ["half_logon"]
    assert action_for("half_logon", "reset", 0.0) == "ignored"
