"""run --pcap: a failed scenario's directory holds a pcap that tshark (Debian's package)
decodes, with the victim's and the healthy clients' SMB2 flows and the drop's RST; a passing
scenario (the default mode, fail) and --pcap never leave none. The embedded lab's capture
(on its bridge) and a URL target's (the harness's own namespace) are both run."""

import json
import os
import shutil
import stat
import subprocess

import pytest

from harness.history import read_events
from tests.conftest import FAST
from tests.integration.test_remote_target import lab_samba, lab_server  # noqa: F401 (fixtures)
from tests.support.cli import harness_cli as cli
from tests.support.standalone_replica import standalone_replica

pytestmark = pytest.mark.integration
# the replica's freeze (1 s) and a second to spare inside the judged phases (as
# test_replica_controls does for rst)
PHASES = {**FAST, "phases.fault_s": 2.0}
SETS = [a for k, v in PHASES.items() for a in ("--set", f"{k}={v}")]


def tshark(pcap, *args) -> list[str]:
    done = subprocess.run(["tshark", "-n", "-r", str(pcap), *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pcap") / "run"
    done = cli("run", "rst", "--target", "replica:any", "--report-dir", str(out), "--quiet", *SETS)
    assert done.returncode == 1, done.stdout + done.stderr
    return out


def test_failed_scenario_leaves_a_private_pcap_that_report_json_and_html_name(failed_run):
    entry = json.loads((failed_run / "report.json").read_text())["scenarios"][0]
    assert entry["verdict"] == "fail"
    assert entry["pcap"] == "rst/capture.pcap" and entry["pcap_frames"] > 100
    assert entry["pcap_dropped_frames"] == 0 and entry["pcap_kernel_drops"] == 0  # all kept
    pcap = failed_run / entry["pcap"]
    assert stat.S_IMODE(pcap.stat().st_mode) == 0o600
    assert 'href="rst/capture.pcap"' in (failed_run / "report.html").read_text()


def test_tshark_finds_every_clients_smb2_flow_and_the_victims_rst(failed_run):
    assert_flows_and_rst(failed_run)


def test_a_url_target_failing_behind_the_stand_alone_replica_leaves_a_pcap(lab_samba, lab_server, tmp_path):
    """No lab of the harness's own: the capture runs in the harness's namespace."""
    from harness.lab.netns import SERVER_ADDR, SERVER_ALIAS_ADDR

    url, password = lab_server
    with standalone_replica(lab_samba.lab.server_netns, "--trigger", "any"):
        done = cli("run", "rst", "--target", url.replace(SERVER_ADDR, SERVER_ALIAS_ADDR),
                   "--report-dir", str(tmp_path), "--quiet", *SETS,
                   env={**os.environ, "NBT_HARNESS_PASSWORD": password})
    assert done.returncode == 1, done.stdout + done.stderr
    entry = json.loads((tmp_path / "report.json").read_text())["scenarios"][0]
    assert entry["pcap"] == "rst/capture.pcap"
    assert stat.S_IMODE((tmp_path / entry["pcap"]).stat().st_mode) == 0o600
    assert_flows_and_rst(tmp_path)


def assert_flows_and_rst(run_dir):
    if not shutil.which("tshark"):
        pytest.skip("no tshark (Debian's tshark package; .ci/setup installs it)")
    failed_run = run_dir
    clients = [e for e in read_events(failed_run / "rst" / "history.jsonl") if e["type"] == "client"]
    victim = next(c["local"] for c in clients if c["role"] == "victim")
    healthy = {c["local"].rsplit(":", 1)[0] for c in clients if c["role"] == "healthy"}
    pcap = failed_run / "rst" / "capture.pcap"
    smb2_sources = set(tshark(pcap, "-Y", "smb2.cmd", "-T", "fields", "-e", "ip.src"))
    assert victim.rsplit(":", 1)[0] in smb2_sources and healthy <= smb2_sources, smb2_sources
    assert tshark(pcap, "-Y", "ntlmssp.messagetype == 3")  # the session set-up is in it
    vip, vport = victim.rsplit(":", 1)
    rst = tshark(pcap, "-Y", f"tcp.flags.reset == 1 && ip.src == {vip} && tcp.srcport == {vport}")
    assert rst, f"no RST from the victim {victim}"
    assert tshark(pcap, "-Y", "nbns")  # the session-less NBSTAT prober's datagrams too


@pytest.mark.parametrize("target, mode, code", [("local", "fail", 0), ("replica:any", "never", 1)])
def test_no_pcap_for_a_pass_or_with_never(tmp_path, target, mode, code):
    done = cli("run", "rst", "--target", target, "--pcap", mode, "--report-dir", str(tmp_path),
               "--quiet", *SETS)
    assert done.returncode == code, done.stdout + done.stderr
    entry = json.loads((tmp_path / "report.json").read_text())["scenarios"][0]
    assert "pcap" not in entry and not list(tmp_path.rglob("*.pcap"))
