"""A server the harness does not start, given only as an smb:// URL, as a lab Windows host
would be: a Samba that the test starts in a namespace of its own, reachable from the
harness's namespace through a veth the test adds."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from harness.errors import BadInput
from harness.lab.netns import sh
from harness.targets.local import LocalSamba
from harness.targets.remote import RemoteTarget
from harness.targets.remote_spec import parse_smb_url
from tests.support.standalone_replica import standalone_replica
from tests.conftest import DROP_MODES, FAST

pytestmark = pytest.mark.integration
ROOT_SIDE_ADDR = "10.213.0.250"


@pytest.fixture(scope="module")
def lab_samba():
    with LocalSamba() as server:
        yield server


@pytest.fixture(scope="module")
def lab_server(lab_samba):
    """(url, password): the URL names the server but not its NetBIOS name (learned by NBSTAT)."""
    server = lab_samba
    link = f"nbth{os.getpid()}r"
    sh("ip", "link", "add", link, "type", "veth", "peer", "name", "vr", "netns", server.lab.server_netns)
    sh("ip", "-n", server.lab.server_netns, "link", "set", "vr", "master", "br0", "up")
    sh("ip", "addr", "add", f"{ROOT_SIDE_ADDR}/24", "dev", link)
    sh("ip", "link", "set", link, "up")
    try:
        yield f"smb://root@{server.endpoint.host}/share", server.endpoint.password
    finally:
        sh("ip", "link", "del", link, check=False)


@pytest.fixture
def password_env(lab_server, monkeypatch):
    monkeypatch.setenv("NBT_HARNESS_PASSWORD", lab_server[1])
    return lab_server[0]


def test_capabilities_are_discovered_and_the_name_learned(password_env):
    target = RemoteTarget(parse_smb_url(password_env))
    with target:
        assert target.endpoint.netbios_name == "NBTHSRV"
        assert (target.caps.nbstat, target.caps.nbt, target.caps.direct_445) == (True,) * 3
        assert target.caps.smb1 is None  # SMB1 is asked for only by an nt1 scenario
        assert target.offers("nt1", "nbt") is None and target.caps.smb1 is True
        assert target.server_sockets() is None  # it cannot look inside
        assert target.endpoint.password not in target.describe()


@pytest.mark.parametrize("name", ["baseline", *DROP_MODES, "blackhole"])
def test_default_suite_passes_against_a_url_target_with_evidence_from_our_side(watched_run, password_env,
                                                                               name, lab_samba):
    overrides = {**FAST, "phases.fault_s": 4.0} if name == "blackhole" else FAST
    # watched: the rst run is also the one checked for processes spawned while judged
    entry = watched_run(name, password_env, overrides)[0]
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    if name != "baseline":
        assert entry["drop"]["evidence"]["capture"], entry["drop"]
    # The victim could not clean up after itself; the run did, and left nothing on the share.
    assert entry["scratch"]["left"] == [], entry["scratch"]
    assert sorted(p.name for p in (lab_samba.dir / "share").iterdir()) == []


@pytest.mark.parametrize("name,dialect", [("rst", "nt1"), ("blackhole", "3.1.1")])
def test_direct_tcp_cells_on_a_url_target(nbt_run, password_env, name, dialect):
    """Over 445 too: the victim's flow captured on our side by its 4-tuple proves the drop."""
    from harness.scenario.files import resolve

    overrides = {**FAST, "phases.fault_s": 4.0} if name == "blackhole" else FAST
    entry = nbt_run(resolve([name])[0].with_combination(dialect, "tcp"), target=password_env,
                    overrides=overrides)
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert entry["negotiated"] == {"dialect": dialect, "transport": "tcp", "port": 445,
                                   "clients": entry["negotiated"]["clients"], "offered": [dialect]}
    assert entry["drop"]["evidence"]["capture"], entry["drop"]


@pytest.mark.parametrize("name", ["netem", "partition"])
def test_host_wide_drops_skip_on_a_url_target(nbt_run, password_env, name):
    assert nbt_run(name, target=password_env, overrides=FAST)["verdict"] == "skip"


def test_wrong_password_and_missing_share_are_bad_input(lab_server, monkeypatch):
    url, password = lab_server
    monkeypatch.setenv("NBT_HARNESS_PASSWORD", "wrong-" + password)
    with pytest.raises(BadInput, match="LOGON_FAILURE"):
        RemoteTarget(parse_smb_url(url)).start()
    monkeypatch.setenv("NBT_HARNESS_PASSWORD", password)
    with pytest.raises(BadInput, match="BAD_NETWORK_NAME"):
        RemoteTarget(parse_smb_url(url.replace("/share", "/nosuch"))).start()


def _serve(answer: bytes | None):
    """A TCP service on loopback that answers every connection with `answer` (None: never)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
            if answer is not None:
                conn.sendall(answer)

    threading.Thread(target=loop, daemon=True).start()
    return srv


def _cli(target, password, *extra, netns=None, timeout=60):
    env = {**os.environ, "NBT_HARNESS_PASSWORD": password}
    started = time.monotonic()
    prefix = ["ip", "netns", "exec", netns] if netns else []
    done = subprocess.run([*prefix, sys.executable, "-m", "harness", "run", "baseline", "--target", target, *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return done, time.monotonic() - started


def test_bad_targets_one_line_exit_code_bounded_time_no_password(lab_server, tmp_path):
    url, password = lab_server
    http = _serve(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    silent = _serve(None)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    # The unknown host is looked up inside an empty namespace of the test's own, so the
    # resolver's query cannot leave the machine (the network is unreachable there).
    no_network = f"nbth-{os.getpid()}-nodns"
    sh("ip", "netns", "add", no_network)
    try:
        done, took_s = _cli("smb://root@no-such-host.invalid/share", password, "--report-dir",
                            str(tmp_path), netns=no_network)
    finally:
        sh("ip", "netns", "del", no_network, check=False)
    assert done.returncode == 3 and "unknown host" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and took_s < 30
    cases = [
        (f"smb://root@127.0.0.1:{closed_port}/share?netbios_name=X&ns_port={closed_port}", password, 3, "refused"),
        (f"smb://root@127.0.0.1:{http.getsockname()[1]}/share?netbios_name=X&ns_port={closed_port}",
         password, 3, "does not speak NBT"),
        (f"smb://root@127.0.0.1:{silent.getsockname()[1]}/share?netbios_name=X&ns_port={closed_port}",
         password, 3, "does not speak NBT"),
        (url, "wrong-" + password, 2, "LOGON_FAILURE"),
        (url.replace("/share", "/nosuch"), password, 2, "BAD_NETWORK_NAME"),
        ("smb://root:hunter2@10.213.0.1/share", password, 2, "do not put the password"),
    ]
    for target, pw, code, message in cases:
        done, took_s = _cli(target, pw, "--report-dir", str(tmp_path))
        assert done.returncode == code, (target, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert took_s < 30, (target, took_s)
        for text in (done.stdout, done.stderr, *(p.read_text() for p in tmp_path.rglob("*") if p.is_file())):
            assert password not in text and "hunter2" not in text
    http.close()
    silent.close()


def test_named_targets_file(lab_server, tmp_path, monkeypatch):
    url, password = lab_server
    (tmp_path / "pw").write_text(password + "\n")
    (tmp_path / "pw").chmod(0o600)  # a password file others can read is refused
    (tmp_path / "targets.toml").write_text(f'[targets.lab-samba]\nurl = "{url}"\npassword_file = "pw"\n')
    monkeypatch.setenv("NBT_HARNESS_CONFIG", str(tmp_path / "targets.toml"))
    monkeypatch.delenv("NBT_HARNESS_PASSWORD", raising=False)
    done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", "--target", "lab-samba",
                           "--report-dir", str(tmp_path / "rep"),
                           *[a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert doc["target"].startswith("lab-samba") and password not in json.dumps(doc)


def test_a_url_target_behind_the_stand_alone_replica_fails(nbt_run, lab_samba, password_env):
    """The positive control for the URL path: the same server behind `nbt-harness replica`
    (as a lab would put it in front of a real host) must fail a drop scenario."""
    from harness.lab.netns import SERVER_ADDR, SERVER_ALIAS_ADDR

    with standalone_replica(lab_samba.lab.server_netns, "--trigger", "any"):
        entry = nbt_run("rst", target=password_env.replace(SERVER_ADDR, SERVER_ALIAS_ADDR), overrides=FAST)
        assert entry["verdict"] == "fail", entry["reason"]
        assert "nbstat" in {v["probe"] for v in entry["violations"]}, entry["violations"]


def test_no_process_is_spawned_in_the_judged_phases(watched_run, password_env):
    """A server the harness cannot look inside: evidence comes from the capture of the
    victim's flow (a kernel-filtered AF_PACKET socket read by a thread), with no process.
    The run is the default suite's rst run on this target (one run, watched, serves both)."""
    from tests.support.forkwatch import spawned_while_judged

    entry, history, forks, _ = watched_run("rst", password_env, FAST)
    assert entry["verdict"] == "pass", entry["reason"]
    assert entry["drop"]["evidence"], entry["drop"]
    assert spawned_while_judged(history, forks, os.getpid()) == []
