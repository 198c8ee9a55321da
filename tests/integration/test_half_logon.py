"""The ``half_logon`` drop (``scenarios/connected/half_logon``: four new connections, each
stopped after its first SESSION_SETUP leg, left silent and open). On the embedded Samba every
other client keeps logging on (a process per connection) and the run passes, each half logon
proven server-side (its socket ESTABLISHED and drained); behind
``replica:half_logon,hold=logon`` (the same Samba, every new logon held 3 s once a logon is
left half done for a second: a server that serializes logons) the healthy logons wait and the
run fails.

Only the logon and echo probes (a half logon can stall the first; the second shows that the
established sessions keep working); the two runs at once: about 20 s for the file.
"""

from __future__ import annotations

import os

import pytest

from harness.probes import PROBES
from tests.support.holding_runs import Run, run_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the embedded target needs root"),
]

SETS = {
    **{f"probes.{name}": 0 for name, kind in PROBES.items() if kind.default_rate_hz > 0},
    "probes.smb_logon": 4,
    "probes.smb_echo": 10,
}
MORE_PROCESSING_REQUIRED = "0xc0000016"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    plan = [
        Run("local", "local", "connected/half_logon", (), sets=SETS, plain=True),
        Run("replica", "replica:half_logon,hold=logon", "connected/half_logon", (),
            extra=("--hold-s", "3"), sets=SETS, plain=True),
    ]
    got = run_all(plan, tmp_path_factory.mktemp("half-logon"))
    for (key, run), outcome in got.items():
        if key == "exit":
            assert outcome[0] in (0, 1), f"{run} exited {outcome[0]}\n{outcome[2]}"
    return {key: entry for (key, _), entry in got.items() if key != "exit"}


def assert_four_half_logons(r):
    ev, detail = r["drop"]["evidence"], r["drop"]["detail"]
    assert ev and ev["server_sockets"] == "ESTAB" and ev["half_logons"] == 4, r["drop"]
    assert sorted(detail["peers"]) == ev["peers"] and detail["after"] == "session_setup"
    assert detail["session_setup_answers"] == [MORE_PROCESSING_REQUIRED] * 4, detail


def test_passes_on_the_embedded_samba(runs):
    r = runs["local"]
    assert r["verdict"] == "pass", (r["reason"], r["violations"])
    assert_four_half_logons(r)


def test_fails_behind_a_server_that_serializes_logons(runs):
    r = runs["replica"]
    assert r["verdict"] == "fail", r["reason"]
    assert_four_half_logons(r)
    assert {v["probe"] for v in r["violations"] if v["phase"] == "fault"} == {"smb_logon"}, r["violations"]
