"""Hostile and careless input, hand-written: each case is one hole found in issue 10."""

import math
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import cli
from harness.errors import BadInput
from harness.packets.nbt import MalformedPacket, parse_node_status_response
from harness.scenario.files import load_file, resolve
from harness.targets.remote_spec import load_named_targets, parse_smb_url
from harness.targets.spec import parse_target
from tests.conftest import CHILD_PYTEST

EXIT_INTERNAL = 4

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- one number check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [True, False, math.nan, math.inf, -math.inf, "1", None, [1], -1, 11]
)
def test_number_rejects_what_is_not_a_finite_number_in_range(value):
    from harness.validate import number

    with pytest.raises(ValueError, match="x must be"):
        number(value, "x", 0, 10)


def test_number_accepts_ints_and_floats_and_checks_integers():
    from harness.validate import number

    assert number(3, "x", 0, 10) == 3 and number(2.5, "x", 0, 10) == 2.5
    with pytest.raises(ValueError, match="an integer"):
        number(2.5, "x", 0, 10, integer=True)
    with pytest.raises(ValueError, match=r"in \(0, 10\]"):
        number(0, "x", 0, 10, lo_open=True)


# --- scenario files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("[phases]\nrecovery_s = inf", "phases.recovery_s must be a finite number"),
        ("[phases]\nrecovery_s = 1e12", "recovery_s must be a number from 0 to 3600"),
        (
            "[phases]\nwarmup_s = 3600\nbaseline_s = 3600\nfault_s = 3600\nrecovery_s = 3600",
            "at most 7200 s",
        ),
        ("[phases]\nwarmup_s = true", "warmup_s must be a number"),
        ("[bounds]\np99_floor_ms = nan", "bounds.p99_floor_ms must be a finite number"),
        ("[bounds.per_probe.nbstat]\nmax_factor = -inf", "must be a finite number"),
        ("[bounds]\nmax_errors = 0.5", "max_errors must be an integer"),
        ("bounds = 5", "[bounds] must be a table"),
        ("[bounds.per_probe]\nnbstat = 5", "[bounds.per_probe.nbstat] must be a table"),
        ("[bounds]\nper_probe = [1]", "[bounds.per_probe] must be a table"),
        ("[drop]\nmode = 'netem'\nparams = { echo_interval_s = -1 }", "echo_interval_s"),
        ("[drop]\nmode = 'netem'\nparams = { echo_interval_s = 0 }", "echo_interval_s"),
        ("[drop]\nmode = 'rst'\nparams = 3", "[drop.params] must be a table"),
        ("[drop]\nmode = 'stall'\nparams = { read_total_bytes = inf }", "must be a finite number"),
        ("host_stall_ms = 1e9", "host_stall_ms must be a number"),
        ("healthy_clients = true", "healthy_clients must be an integer"),
        ("probe_timeout_s = nan", "must be a finite number"),
        ("dialect = 3", "dialect must be one of"),
        ("[probes]\nnbstat = true", "probe nbstat rate"),
        ("[drop]\nmode = 'stall'\nparams = { read_total_bytes = true }", "read_total_bytes must be"),
        ("[drop]\nmode = 'stall'\nparams = { rcvbuf_bytes = -1 }", "rcvbuf_bytes must be"),
        ("[drop]\nmode = 'halfframe'\nparams = { frame_bytes = 1000000000 }", "frame_bytes must be"),
        ("[drop]\nmode = 'netem'\nparams = { delay_ms = 1e300 }", "delay_ms must be"),
        ("[drop]\nmode = 'partition'\nparams = { partition_s = '2' }", "partition_s must be"),
    ],
)
def test_hostile_scenario_values_are_one_line_bad_input(tmp_path, text, message):
    path = write(tmp_path, "name = 'x'\n" + text)
    with pytest.raises(BadInput) as exc:
        load_file(path)
    assert message in str(exc.value) and str(path) in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "key, raw, message",
    [
        ("bounds.per_probe", "1", "[bounds.per_probe] must be a table"),
        ("bounds", "5", "[bounds] must be a table"),
        ("bounds.p99_floor_ms", "NaN", "must be a finite number"),
        ("phases.recovery_s", "Infinity", "must be a finite number"),
        ("phases.fault_s", "1e12", "fault_s must be a number from 0 to 3600"),
        ("phases.warmup_s", "true", "warmup_s must be a number"),
    ],
)
def test_hostile_overrides_are_bad_input(key, raw, message):
    with pytest.raises(BadInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve(["rst"])[0].with_overrides({key: raw})


# --- target strings never repeat a password --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SMB://u:s3cr3t@host/s",
        "smbx://u:s3cr3t@host/s",
        "u:s3cr3t@host",
        "replica:u:s3cr3t@x",
        "smb://u:s3cr3t@host/s",
        "smb://[::1:s3cr3t",
        "dom;u:s3cr3t@host",
        "a@b:s3cr3t@c",
        "HTTP://x:s3cr3t@y",
        "smb://u:s3cr3t@host:99999/s",
    ],
)
def test_invalid_target_strings_never_repeat_the_password(text):
    with pytest.raises(BadInput) as exc:
        parse_target(text)
    assert "s3cr3t" not in str(exc.value) and "\n" not in str(exc.value)


def test_mask_userinfo():
    from harness.targets.spec import mask_userinfo

    assert mask_userinfo("u:pw@host") == "u:****@host"
    assert mask_userinfo("smbx://u:pw@h/s") == "smbx://u:****@h/s"
    assert mask_userinfo("local") == "local" and mask_userinfo("u@h") == "u@h"


@pytest.mark.parametrize(
    "text, message",
    [
        ('targets = "x"', "'targets' must be tables"),
        ("[targets]\nlab = 5", "[targets.lab] needs url"),
        ('[targets.lab]\nurl = "smb://u@h/s"\nnetbios_name = 5', "netbios_name must be a string"),
        (
            '[targets.lab]\nurl = "smb://u@h/s"\nnetbios_name = "WAY-TOO-LONG-A-NAME"',
            "invalid netbios_name",
        ),
        ('[targets.lab]\nurl = "smb://u@h/s"\npassword_file = 5', "password_file must be a string"),
        ('[targets.lab]\nurl = "smb://u@h/s"\nns_port = true', "invalid ns_port"),
    ],
)
def test_hostile_targets_files_are_bad_input(tmp_path, text, message):
    path = write(tmp_path, text, "targets.toml")
    with pytest.raises(BadInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_named_targets(path)


def test_a_targets_file_that_is_a_directory_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="cannot read the targets file"):
        load_named_targets(tmp_path)


# --- NBSTAT parser: garbage from the wire ------------------------------------------------------


def test_nbstat_name_pointer_to_itself_is_malformed_not_recursion():
    header = struct.pack(">HHHHHH", 1, 0x8400, 0, 1, 0, 0)
    with pytest.raises(MalformedPacket, match="loop"):
        parse_node_status_response(header + b"\xc0\x0c")  # the pointer points at itself
    with pytest.raises(MalformedPacket):  # two pointers pointing at each other
        parse_node_status_response(header + b"\xc0\x0e\xc0\x0c")
    with pytest.raises(MalformedPacket, match="truncated"):  # a pointer cut in half
        parse_node_status_response(header + b"\xc0")


# --- the nbt_session probe resolves its host once ---------------------------------------------


def test_nbt_session_probe_looks_its_host_up_once(monkeypatch):
    from harness.probes.nbt_session import SessionRequestProbe

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(5)

    def serve():
        for _ in range(3):
            conn, _ = srv.accept()
            conn.settimeout(5)
            conn.recv(1024)
            conn.sendall(b"\x82\x00\x00\x00")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    lookups = []
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **kw: lookups.append(a[0]) or real(*a, **kw)
    )
    probe = SessionRequestProbe("localhost", srv.getsockname()[1], "NBTHSRV", "NBTHTEST", 2.0)
    probe.open()
    for _ in range(3):
        probe.invoke()
    srv.close()
    # at open(), never in the timed invoke() (an address literal needs no resolver)
    assert lookups.count("localhost") == 1, lookups


# --- internal errors ----------------------------------------------------------------------------


def test_a_bug_exits_4_with_one_line_and_a_traceback_file(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_list", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    assert cli.main(["list"]) == EXIT_INTERNAL == 4
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error" in err and "ZeroDivisionError: a bug" in err
    path = err.split("traceback in ")[1].split()[0]
    assert "Traceback" in Path(path).read_text() and "broken" in Path(path).read_text()
    os.unlink(path)
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.main(["list"]) == 4
    assert "Traceback" in capsys.readouterr().err


def test_sighup_and_sigterm_unwind_like_sigint():
    import signal

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        with pytest.raises(SystemExit) as exc:
            cli._terminate(signal.SIGHUP, None)
        assert exc.value.code == 129
        # teardown must not be cut short by a second signal
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        with pytest.raises(KeyboardInterrupt):
            cli._terminate(signal.SIGINT, None)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# --- the victim always releases what its drop applied ---------------------------------------


def test_victim_releases_when_its_drop_breaks_midway():
    from harness.procs.victim import run_victim
    from harness.procs.worker_spec import WorkerSpec
    from harness.schedule import Phases
    from harness.targets.base import Endpoint

    calls = []

    class Broken:
        mode = "netem"
        wire = "nothing"

        def act(self, session):
            calls.append("act")
            return {}

        def during(self, session, until, record):
            raise ValueError("sleep length must be non-negative")

        def release(self, session):
            calls.append("release")

    class Log:
        def write(self, *a, **kw):
            pass

    class Conn:
        def send(self, msg):
            pass

    spec = WorkerSpec(
        name="victim",
        role="victim",
        netns=None,
        events_path="",
        endpoint=Endpoint("h", "N", "s", "u"),
        phases=Phases(0, 0.01, 0.01, 0.01),
        drop=Broken(),
    )
    import time

    with pytest.raises(ValueError):
        run_victim(spec, None, Broken(), Log(), time.monotonic(), Conn())
    assert calls == ["act", "release"]


def test_netem_cleanup_removes_its_qdisc_and_rules_in_the_victim_host(monkeypatch):
    from harness.drops import netem

    ran = []
    monkeypatch.setattr(netem, "sh", lambda *argv, **kw: ran.append((argv, kw)) or "")
    monkeypatch.setattr(netem.firewall, "remove_cuts",
                        lambda owner, netns=None: ran.append(("cuts", owner, netns)) or 0)
    drop = netem.Netem()
    drop.owner_pid = 1
    drop.cleanup("nbth-1-victim")
    assert ran == [
        (("tc", "qdisc", "del", "dev", "eth0", "root"), {"netns": "nbth-1-victim", "check": False}),
        ("cuts", 1, "nbth-1-victim"),
    ]


# --- scenarios come from where the user says, never from the working directory ---------------


def test_list_never_executes_scenarios_py_of_the_working_directory(tmp_path):
    (tmp_path / "scenarios").mkdir()
    marker = tmp_path / "executed"
    (tmp_path / "scenarios" / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\nSCENARIO = {{'name': 'evil'}}\n"
    )
    (tmp_path / "scenarios" / "mine.toml").write_text("name = 'mine'\n")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    stems = [line.split()[0] for line in done.stdout.splitlines()]
    assert "rst" in stems and "evil" not in stems and "mine" not in stems
    # asked for explicitly, the directory's scripts load
    done = subprocess.run(
        [sys.executable, "-m", "harness", "list", "--scenario-dir", "scenarios"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0 and marker.exists(), done.stderr
    assert {"evil", "mine"} <= {line.split()[0] for line in done.stdout.splitlines()}


def test_plugin_collects_scenarios_only_when_asked(pytester):
    d = pytester.mkdir("scenarios")
    (d / "config.toml").write_text("[tool]\nnot_a_scenario = 1\n")  # another project's TOML
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q", *CHILD_PYTEST)
    assert result.ret == 0, result.stdout.str()
    assert "config" not in result.stdout.str() and "test_a" in result.stdout.str()
    # named on the command line: collected (and, not being a scenario, a collection error)
    result = pytester.runpytest_subprocess(
        "scenarios", "--collect-only", "-q", *CHILD_PYTEST
    )
    assert result.ret == 2 and "unknown key(s): tool" in result.stdout.str()
    # or listed in nbt_scenario_dirs: collected without being named
    (d / "config.toml").write_text("name = 'mine'\n")
    pytester.makeini("[pytest]\nnbt_scenario_dirs = scenarios\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q", *CHILD_PYTEST)
    assert result.ret == 0 and "config.toml::mine" in result.stdout.str(), result.stdout.str()


def test_discovery_login_has_an_overall_deadline(monkeypatch):
    """A login that never ends (a server trickling bytes or keep-alives just inside every
    per-operation timeout) is cut at the deadline: the login runs in a child that is killed."""
    import time

    from harness.errors import InfraError
    from harness.targets import remote
    from harness.targets.base import Endpoint

    monkeypatch.setattr(remote, "LOGIN_DEADLINE_S", 0.5)
    monkeypatch.setattr(remote, "_login_once", lambda endpoint, dialect: time.sleep(30))
    target = remote.RemoteTarget(parse_smb_url("smb://u@127.0.0.1/s"))
    target._endpoint = Endpoint("127.0.0.1", "SRV", "s", "u", "pw")
    started = time.monotonic()
    with pytest.raises(InfraError, match="did not complete within"):
        target._check_login()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("source", ["env", "password_file"])
def test_a_crash_report_never_holds_the_password(tmp_path, source):
    """A bug whose message and traceback carry the password (from NBT_HARNESS_PASSWORD, which
    the command takes out of the environment at start-up, or from a password file): neither
    the one line on stderr nor the traceback file holds it."""
    secret = "s3cret-Pw-4242"
    pw_file = tmp_path / "pw"
    pw_file.write_text(secret + "\n")
    pw_file.chmod(0o600)
    query = f"?password_file={pw_file}" if source == "password_file" else ""
    code = ("import sys\n"
            "from harness import cli\n"
            "from harness.targets.password import read_password\nfrom harness.targets.remote_spec import parse_smb_url\n"
            "def buggy(args):\n"
            f"    password = read_password(parse_smb_url('smb://u@h/s{query}'))\n"
            "    raise RuntimeError(f'a bug holding {password!r}')\n"
            "cli.cmd_list = buggy\n"
            "sys.exit(cli.main(['list']))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NBT_HARNESS_PASSWORD", "NBT_HARNESS_DEBUG")}
    if source == "env":
        env["NBT_HARNESS_PASSWORD"] = secret
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, env=env, check=False)
    assert done.returncode == 4, done.stderr
    crash = Path(done.stderr.split("traceback in ")[1].split()[0])
    try:
        text = crash.read_text()
        assert "a bug holding" in text and "****" in text
        assert secret not in text and secret not in done.stderr and secret not in done.stdout
    finally:
        crash.unlink()
