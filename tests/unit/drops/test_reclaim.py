"""The reclaim drop: its parameters, the holdings it needs (bad input otherwise), and its
evidence judged purely on the loss and hand-written drop events."""

import pytest

from harness.drops import DROPS, drop_for
from harness.drops.base import vanished
from harness.drops.reclaim import reclaim_evidence
from harness.errors import BadInput
from harness.scenario.model import from_dict
from harness.server import ServerSocket

BEFORE = ServerSocket("ESTAB", 0, 0, "10.213.0.1:139", "10.213.0.11:40000")


def ev(event, **kw):
    return {"type": "drop", "event": event, "mode": "reclaim", **kw}


def test_registered_with_its_parameters_checked():
    assert DROPS["reclaim"].needs_holdings == ("durable_v1", "durable_v2")
    assert not DROPS["reclaim"].repeatable and DROPS["reclaim"].smb1_unsupported
    drop = drop_for("reclaim", {"reclaim_after_s": 1.5, "timeout_s": 2})
    assert (drop.reclaim_after_s, drop.timeout_s) == (1.5, 2.0)
    assert drop_for("reclaim").reclaim_after_s is None  # at the end of the fault phase
    for bad in ({"reclaim_after_s": -1}, {"timeout_s": 0}, {"when": 1}):
        with pytest.raises((TypeError, ValueError)):
            drop_for("reclaim", bad)


def test_proven_once_the_server_let_go_and_the_reclaim_was_answered():
    lost = vanished(BEFORE, [])
    answered = ev("reclaim", handle="DH2C", status="STATUS_OBJECT_NAME_NOT_FOUND", session="ok")
    assert reclaim_evidence(lost, [ev("reclaim_sent")]) is None  # not answered yet
    assert reclaim_evidence(vanished(BEFORE, [BEFORE]), [answered]) is None  # not let go
    assert reclaim_evidence(lost, [ev("reclaim_sent"), answered]) == {
        **lost, "reclaim": "DH2C", "reclaim_status": "STATUS_OBJECT_NAME_NOT_FOUND",
        "session_reconnect": "ok"}
    assert reclaim_evidence({"capture": "RST left the victim"}, [answered])["reclaim"] == "DH2C"


SCENARIO = {"name": "r", "healthy_clients": 1, "drop": {"mode": "reclaim"},
            "phases": {"warmup_s": 0.5, "baseline_s": 1, "fault_s": 2, "recovery_s": 1},
            "probes": {"smb_contend": 1}}


@pytest.mark.parametrize("victim, why", [
    ({"holds": "batch_oplock"}, "drop reclaim needs [victim] holds = one of durable_v1, "
                                "durable_v2 (the scenario's: batch_oplock)"),
])
def test_a_reclaim_of_what_is_not_a_durable_handle_is_bad_input(victim, why):
    with pytest.raises(BadInput, match=why.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        from_dict({**SCENARIO, "victim": victim}, "r.toml")
    no_victim = {**SCENARIO, "probes": {"smb_echo": 1}}
    with pytest.raises(BadInput, match="the scenario's: none"):
        from_dict(no_victim, "r.toml")
    assert from_dict({**SCENARIO, "victim": {"holds": "durable_v1"}}, "r.toml").drop.mode == "reclaim"
