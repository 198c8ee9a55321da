"""Controls for the ``reclaim`` drop (``scenarios/holdings/durable_v1-reclaim.toml``,
``durable_v2-reclaim.toml``): the victim holds a durable handle, writes a block on it, resets
its connection, and at the end of the fault phase reclaims the handle on a new connection
(PreviousSessionId, then DHnC or DH2C).

- Embedded Samba: the healthy client's contended open is granted 0.5 s after the drop (Samba
  lets the disconnected handle go), so the reclaim 2 s after the drop is stale: refused with
  STATUS_OBJECT_NAME_NOT_FOUND, as [MS-SMB2] and smbtorture require: pass. Without the
  contended opens (``probes.smb_contend=0``, durable v2) nothing conflicts: the reclaim is
  granted and the victim's block reads back as written: pass.
- ``replica:never,reclaim=grant``: the embedded Samba behind a relay that answers every
  durable reconnect with success itself (a server that grants a stale reclaim): fail, with the
  one violation ``stale_reclaim`` naming the conflicting open it came after.

Three ``nbt-harness run`` at once, short phases, only the contended open as probe (the
uncontended run: an echo at 2 Hz).
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

HOLDINGS = ("durable_v1", "durable_v2")
ONLY_CONTENDED = {f"probes.{name}": 0 for name, kind in PROBES.items() if kind.default_rate_hz > 0}
HANDLE = {"durable_v1": "DHnC", "durable_v2": "DH2C"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    plan = [
        Run("local", "local", "reclaim", HOLDINGS, sets=ONLY_CONTENDED),
        Run("alone", "local", "reclaim", ("durable_v2",),
            sets={**ONLY_CONTENDED, "probes.smb_contend": 0, "probes.smb_echo": 2}),
        Run("grant", "replica:never,reclaim=grant", "reclaim", HOLDINGS, sets=ONLY_CONTENDED),
    ]
    got = run_all(plan, tmp_path_factory.mktemp("reclaim-controls"))
    for (key, run), outcome in got.items():
        if key == "exit":
            code, _, tail = outcome
            assert code in (0, 1), f"{run} exited {code}\n{tail}"
    return {key: entry for key, entry in got.items() if key[0] != "exit"}


def assert_dropped_and_reclaimed(r, holds):
    ev = r["drop"]["evidence"]
    assert ev and ev["server_socket_after"] == "gone" and ev["reclaim"] == HANDLE[holds], r["drop"]
    assert ev["session_reconnect"] == "ok", ev
    detail = r["drop"]["detail"]
    assert detail["sent"] == "RST" and detail["wrote"]["length"] == 512, detail


@pytest.mark.parametrize("holds", HOLDINGS)
def test_a_stale_reclaim_is_refused_by_the_embedded_samba(runs, holds):
    r = runs[("local", f"{holds}-reclaim")]
    assert r["verdict"] == "pass", (r["reason"], r.get("reclaim"), r.get("access"))
    assert_dropped_and_reclaimed(r, holds)
    got = r["reclaim"]
    assert got["status"] == "STATUS_OBJECT_NAME_NOT_FOUND" and got["expected"] == "refused", got
    assert got["conflict"]["client"] and got["session"] == "ok", got
    assert r["access"]["time_to_access_s"] <= r["access"]["max_wait_s"], r["access"]


def test_an_uncontended_reclaim_is_granted_and_reads_back(runs):
    r = runs[("alone", "durable_v2-reclaim")]
    assert r["verdict"] == "pass", (r["reason"], r.get("reclaim"))
    assert_dropped_and_reclaimed(r, "durable_v2")
    got = r["reclaim"]
    assert (got["status"], got["expected"], got["conflict"]) == ("ok", "granted", None), got
    assert got["read_back"] == "as written", got


@pytest.mark.parametrize("holds", HOLDINGS)
def test_fails_against_a_server_that_grants_a_stale_reclaim(runs, holds):
    r = runs[("grant", f"{holds}-reclaim")]
    assert r["verdict"] == "fail", (r["reason"], r.get("reclaim"))
    assert_dropped_and_reclaimed(r, holds)
    assert [v["stat"] for v in r["violations"]] == ["stale_reclaim"], r["violations"]
    v = r["violations"][0]
    assert v["probe"] == "reclaim" and "granted the stale durable reclaim" in v["detail"], v
    assert "was granted a conflicting open " in v["detail"], v
    assert r["reclaim"]["conflict"]["after_drop_s"] < r["reclaim"]["after_drop_s"], r["reclaim"]
    assert r["reclaim"]["status"] == "ok" and r["reclaim"]["expected"] == "refused"
