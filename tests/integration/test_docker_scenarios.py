"""The default suite against the Samba container (skipped with the reason without an engine)."""

import json
import os
import subprocess
import sys

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


def test_trixie_build_runs_and_the_report_names_samba_4_22(tmp_path):
    """The second server build: docker:trixie builds Samba 4.22 from its own debootstrapped
    base, runs a scenario, and the report says which Samba it judged. Skips without an engine
    or without the trixie base (`.ci/docker-setup trixie`; CI makes it)."""
    from harness.errors import InfraError
    from harness.targets import docker as docker_target

    try:
        client = docker_target.connect()
    except InfraError as exc:
        pytest.skip(str(exc))
    try:
        names = {t for image in client.images.list() for t in image.tags}
    finally:
        client.close()
    if not {docker_target.base_image("trixie"), docker_target.image_tag_for("trixie")} & names:
        pytest.skip("no debian:trixie-slim base image: run .ci/docker-setup trixie")
    report = tmp_path / "rep"
    done = subprocess.run([sys.executable, "-m", "harness", "run", "rst", "--target", "docker:trixie",
                           "--report-dir", str(report), "--quiet",
                           *[a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]],
                          capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "NBT_HARNESS_TARGET"})
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((report / "report.json").read_text())
    assert doc["server"].startswith("Samba 4.22."), doc["server"]
    assert doc["target"].startswith("docker:trixie ") and "Samba 4.22." in doc["target"]
    assert doc["scenarios"][0]["verdict"] == "pass"
