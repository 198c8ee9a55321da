"""The default suite against the Samba container (skipped with the reason without an engine)."""

import pytest

from harness.errors import TargetUnavailable
from tests.conftest import DROP_MODES, FAST

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["baseline", *DROP_MODES])
def test_default_suite_passes_against_docker(nbt_run, name):
    try:
        entry = nbt_run(name, target="docker", overrides=FAST)
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    if name != "baseline":
        assert entry["drop"]["evidence"], entry["drop"]


def test_blackhole_against_docker_cuts_the_flow_on_our_side(nbt_run):
    from harness.lab.netns import sh

    try:
        entry = nbt_run("blackhole", target="docker",
                        overrides={**FAST, "phases.fault_s": 5.0, "evidence_timeout_s": 15})
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert entry["drop"]["evidence"]["retransmits_seen"] >= 1
    assert "nbth-" not in sh("iptables", "-S")  # the cut in our own namespace is gone


@pytest.mark.parametrize("name", ["netem", "partition"])
def test_host_wide_drops_skip_against_docker(nbt_run, name):
    try:
        entry = nbt_run(name, target="docker", overrides=FAST)
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    assert entry["verdict"] == "skip" and "whole host" in entry["reason"]
