"""A URL target's password never leaves in plain text or as LM/NTLMv1, SMB1 is asked for
only by an nt1 scenario, and a skip means the server answered: each case run as a user
would (the command in a subprocess) against servers of this test on loopback
(tests/support/hostile_smb.py): one that offers NT1 without extended security, impacket's own SMB
server (2.0.2), one that resets every NEGOTIATE, and one that resets only the first."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import errors
from harness.errors import InfraError
from tests.support.hostile_smb import (
    SMB1_SESSION_SETUP_ANDX,
    ImpacketSmbServer,
    NtlmFallbackSmb1Server,
    ResettingServer,
    WeakSmb1Server,
    closed_port,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SECRET = "creds-Secret-42"
RUN_LIMIT_S = 60


def url(nbt_port: int, smb_port: int | None = None) -> str:
    return (
        f"smb://root@127.0.0.1:{nbt_port}/SHARE?netbios_name=SRV&ns_port={closed_port()}"
        f"&smb_port={smb_port or closed_port()}"
    )


FAST = [
    "--set",
    "probes.nbstat=0",
    "--set",
    "probes.nb_query=0",  # these servers have no name service either
    "--set",
    "phases.warmup_s=0.2",
    "--set",
    "phases.baseline_s=0.5",
    "--set",
    "phases.fault_s=0.5",
    "--set",
    "phases.recovery_s=0.3",
]


def run_report(tmp_path, target: str, scenarios: list[str], *args: str, limit_s=RUN_LIMIT_S):
    """``nbt-harness run SCENARIOS`` against ``target``: (process, report.json or None)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            *scenarios,
            "--target",
            target,
            *args,
            "--report-dir",
            str(tmp_path / "rep"),
        ],
        capture_output=True,
        text=True,
        timeout=limit_s,
        cwd=tmp_path,
        env={**os.environ, "NBT_HARNESS_PASSWORD": SECRET, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    report = tmp_path / "rep" / "report.json"
    return done, (json.loads(report.read_text()) if report.exists() else None)


def run(tmp_path, target: str, *sets: str):
    """``nbt-harness run baseline`` against ``target``: (process, its report entry)."""
    done, doc = run_report(tmp_path, target, ["baseline"], *FAST, *sets)
    entries = doc["scenarios"] if doc else []
    return done, (entries[0] if entries else None)


def assert_no_password_left(server: WeakSmb1Server) -> None:
    sent = bytes(server.received)
    for form in (SECRET.encode("ascii"), SECRET.upper().encode("ascii"), SECRET.encode("utf-16le")):
        assert form not in sent
    # No SESSION_SETUP_ANDX at all: neither the password nor an LM/NTLMv1 response to a
    # challenge (the fields AnsiPwd/UnicodePwd of that request) was ever sent.
    assert SMB1_SESSION_SETUP_ANDX not in server.smb1_commands, server.smb1_commands


@pytest.fixture
def impacket_server():
    server = ImpacketSmbServer("root", SECRET)
    yield server
    server.close()


@pytest.mark.parametrize("challenge", [b"", b"\x11" * 8], ids=["plain-text", "lm-ntlmv1"])
def test_nt1_without_extended_security_is_refused_and_the_password_never_leaves(
    tmp_path, challenge
):
    server = WeakSmb1Server(challenge)
    try:
        done, entry = run(tmp_path, url(server.port), "--set", "dialect=nt1")
    finally:
        server.close()
    assert_no_password_left(server)
    assert done.returncode == errors.EXIT_PASS, done.stdout + done.stderr
    assert entry["verdict"] == "skip", entry
    assert "NT1 without extended security" in entry["reason"], entry["reason"]
    assert "\n" not in entry["reason"]


def test_no_ntlmv1_retry_when_a_server_refuses_ntlmv2():
    """NT1 with extended security, a server calling itself Samba that refuses the NTLMv2
    login: impacket's ntlmFallback would log in again with NTLMv1 (a 24-byte NT response).
    One AUTHENTICATE is sent, NTLMv2 (longer than 24 bytes), and the login fails."""
    from harness.clients.session import open_session
    from harness.server import Endpoint

    server = NtlmFallbackSmb1Server()
    endpoint = Endpoint(
        "127.0.0.1", "SRV", "SHARE", "root", SECRET, "", server.port, server.port, closed_port()
    )
    try:
        with pytest.raises(InfraError, match="LOGON_FAILURE"):
            open_session(endpoint, "NBTHTEST", 5.0, "nt1", "nbt")
    finally:
        server.close()
    assert len(server.nt_response_bytes) == 1 and server.nt_response_bytes[0] > 24, (
        server.nt_response_bytes
    )
    assert (
        SECRET.encode() not in server.received and SECRET.encode("utf-16le") not in server.received
    )


def test_smb1_is_asked_for_only_by_an_nt1_scenario(tmp_path):
    """Discovery and a default scenario (every SMB 2/3 dialect offered) send no SMB1 message
    at all: the server answers their SMB2 NEGOTIATEs with STATUS_NOT_SUPPORTED, so the
    scenario is a skip; and a run that skipped everything says that nothing was tested."""
    server = WeakSmb1Server(b"")
    try:
        done, entry = run(tmp_path, url(server.port))
    finally:
        server.close()
    assert server.received, "the server was never asked"
    assert server.smb1_commands == [], server.smb1_commands
    assert_no_password_left(server)
    assert done.returncode == errors.EXIT_PASS, done.stdout + done.stderr
    assert entry["verdict"] == "skip", entry
    assert "does not offer any SMB 2/3 dialect over nbt" in entry["reason"], entry
    # exit 0 as pytest's skips, but the last line and the summary say it was not a pass
    last = done.stdout.splitlines()[-1]
    assert last == f"nothing was tested: the 1 scenario was skipped: {entry['reason']}", done.stdout
    summary = json.loads((tmp_path / "rep" / "report.json").read_text())["summary"]
    assert summary["nothing_tested"] == [entry["reason"]], summary
    assert "nothing was tested" in (tmp_path / "rep" / "report.html").read_text()


def test_the_default_run_takes_the_dialect_the_server_picks(tmp_path, impacket_server):
    """The issue's case: impacket's SMB server (NT1 and 2.0.2) by URL with NBSTAT off (and
    the probes it cannot serve: nb_query, rpc_shares). The
    default run offers every SMB 2/3 dialect, the server picks 2.0.2, and the six default
    scenarios pass (before: all six skipped, "does not offer SMB 3.1.1 over nbt", exit 0).
    stall passes only because its big file is written out on a server that skips a WRITE
    past its end of file (impacket's), as this one does."""
    names = ["baseline", "rst", "fin", "kill", "halfframe", "stall"]
    phases = [f"phases.{k}={v}" for k, v in
              {"warmup_s": 0.5, "baseline_s": 1.0, "fault_s": 1.5, "recovery_s": 1.0}.items()]
    done, doc = run_report(tmp_path, url(impacket_server.port), names, "--set", "probes.nbstat=0",
                           "--set", "probes.nb_query=0",  # no name service (UDP 137) either
                           # its srvsvc pipe serves one client at a time (impacket's
                           # DCERPCServer: one connection until it closes), so a second
                           # client's bind waits forever: not this test's subject
                           "--set", "probes.rpc_shares=0",
                           *[a for p in phases for a in ("--set", p)], "--quiet", limit_s=240)
    assert done.returncode == errors.EXIT_PASS, done.stdout + done.stderr
    assert doc["summary"] == {"pass": 6, "fail": 0, "error": 0, "skip": 0}, done.stdout
    for entry in doc["scenarios"]:
        assert entry["dialect"] == "any", entry
        got = entry["negotiated"]
        assert (got["dialect"], got["transport"]) == ("2.0.2", "nbt") and "mixed" not in got, got
        assert got["offered"] == ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"], got
    assert "nothing was tested" not in done.stdout


def test_another_dialect_answered_is_a_skip(tmp_path, impacket_server):
    """The control: impacket's server answers a NEGOTIATE for 3.1.1 with 2.0.2; an exact
    dialect asked for is still never a silent fallback."""
    done, entry = run(tmp_path, url(impacket_server.port), "--set", "dialect=3.1.1")
    assert done.returncode == errors.EXIT_PASS, done.stdout + done.stderr
    assert entry["verdict"] == "skip", entry
    assert "negotiated 2.0.2, not the dialect asked for" in entry["reason"], entry["reason"]


def test_a_server_that_resets_the_negotiate_is_an_error_not_a_skip(tmp_path, impacket_server):
    """Discovery passes (NBT and the login on the working server, port 445 accepts), then
    the scenario's direct-TCP NEGOTIATE is reset: exit 3 with the reason, never a skip."""
    resetting = ResettingServer()
    try:
        done, entry = run(
            tmp_path,
            url(impacket_server.port, resetting.port),
            "--set",
            "dialect=2.0.2",
            "--set",
            "transport=tcp",
        )
    finally:
        resetting.close()
    assert done.returncode == errors.EXIT_INFRA, done.stdout + done.stderr
    assert entry["verdict"] == "error", entry
    lines = [line for line in done.stdout.splitlines() if line.startswith("== baseline")]
    assert len(lines) == 1 and "ERROR" in lines[0] and "no answer to a NEGOTIATE" in lines[0], (
        done.stdout
    )
    assert "no answer to a NEGOTIATE for SMB 2.0.2 over tcp" in entry["reason"], entry["reason"]
    assert "ConnectionResetError" in entry["reason"] or "reset" in entry["reason"].lower(), entry[
        "reason"
    ]


def test_a_transient_failure_is_not_remembered(impacket_server, monkeypatch):
    """The first direct-TCP NEGOTIATE is reset, the next is relayed to a working server:
    the first check is an error, the second finds the dialect offered."""
    from harness.targets.remote import RemoteTarget
    from harness.targets.remote_spec import parse_smb_url

    monkeypatch.setenv("NBT_HARNESS_PASSWORD", SECRET)
    flaky = ResettingServer(
        resets=2, upstream_port=impacket_server.port
    )  # discovery's connect, then one NEGOTIATE
    try:
        with RemoteTarget(parse_smb_url(url(impacket_server.port, flaky.port))) as target:
            with pytest.raises(InfraError, match="no answer to a NEGOTIATE"):
                target.offers("2.0.2", "tcp")
            assert target.offers("2.0.2", "tcp") is None
    finally:
        flaky.close()
