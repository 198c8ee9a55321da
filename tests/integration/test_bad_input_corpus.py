"""The bad-input corpus: hostile and careless input of every kind, each case run as a user
would (the command in a subprocess). Every case must end within 30 s with exactly one line on
stderr, the documented exit code (2 bad input, 3 infrastructure), no traceback, and no
password anywhere in its output. Bad input must be refused before anything starts (no
embedded Samba: no "ready" line, a few seconds at most).

Hostile servers, all on loopback or in a namespace this test creates: a TCP port that
accepts and stays silent, one that answers garbage, one that closes at once, a refused port,
a UDP port answering NBSTAT with a name pointer to itself, a service that answers the NBT
session request and then sends only keep-alives, and an unknown host looked up where there
is no network. Hostile SMB servers (tests/support/hostile_smb.py: impacket's SMB server
behind a relay that corrupts its answers): a NEGOTIATE granting absurd credits and sizes,
SESSION_SETUP answered MORE_PROCESSING_REQUIRED forever, READ answers longer than asked, a
storm of unsolicited oplock breaks to healthy clients, and echo answers carrying another
message's id: each ends with one clear line (the verdict line, or one line on stderr) and
its exit code."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.lab.netns import sh
from tests.support import hostile_smb

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SECRET = "corpus-Secret-42"  # the password in the environment of every case
CASE_LIMIT_S = 30.0
BAD_INPUT_LIMIT_S = 10.0  # refused before anything starts (generous for a loaded machine)


class Servers:
    """Hostile servers on loopback, each on a port of its own, for the whole module."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []
        self.held: list[socket.socket] = []
        self.stop = threading.Event()

    def tcp(self, on_accept) -> int:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        srv.settimeout(0.5)
        self.socks.append(srv)

        def loop():
            while not self.stop.is_set():
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                conn.settimeout(5)
                threading.Thread(target=on_accept, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return srv.getsockname()[1]

    def silent(self, conn):
        self.held.append(conn)  # accepted, never a byte, never closed

    @staticmethod
    def garbage(conn):
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n" + bytes(range(256)))
        time.sleep(1)
        conn.close()

    @staticmethod
    def closes(conn):
        conn.close()

    def keepalives(self, conn):
        """A positive session response, then NBT keep-alives every 0.2 s and nothing else."""
        try:
            conn.recv(1024)
            conn.sendall(b"\x82\x00\x00\x00")
            while not self.stop.is_set():
                conn.settimeout(0.2)
                try:
                    if conn.recv(4096) == b"":
                        return
                except socket.timeout:
                    pass
                conn.sendall(b"\x85\x00\x00\x00")
        except OSError:
            return
        finally:
            conn.close()

    def nbstat_loop(self) -> int:
        """UDP: every query is answered with a response whose name points at itself."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        srv.bind(("127.0.0.1", 0))
        srv.settimeout(0.5)
        self.socks.append(srv)

        def loop():
            while not self.stop.is_set():
                try:
                    data, peer = srv.recvfrom(2048)
                except OSError:
                    continue
                answer = data[:2] + struct.pack(">HHHHH", 0x8400, 0, 1, 0, 0) + b"\xc0\x0c"
                srv.sendto(answer + b"\x00" * 16, peer)

        threading.Thread(target=loop, daemon=True).start()
        return srv.getsockname()[1]

    def close(self) -> None:
        self.stop.set()
        for s in self.socks + self.held:
            s.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Files and servers the cases refer to, as {name: value} for str.format."""
    d = tmp_path_factory.mktemp("corpus")
    servers = Servers()
    files = {
        "not_toml.toml": "name = ",
        "no_name.toml": "description = 'x'",
        "unknown_key.toml": "name = 'x'\nbogus = 1",
        "meteor.toml": "name = 'x'\n[drop]\nmode = 'meteor'",
        "inf.toml": "name = 'x'\n[phases]\nrecovery_s = inf",
        "huge.toml": "name = 'x'\n[phases]\nrecovery_s = 1e12",
        "bounds5.toml": "name = 'x'\nbounds = 5",
        "perprobe5.toml": "name = 'x'\n[bounds.per_probe]\nnbstat = 5",
        "nan.toml": "name = 'x'\n[bounds]\np99_floor_ms = nan",
        "bool.toml": "name = 'x'\n[phases]\nwarmup_s = true",
        "netem.toml": "name = 'x'\n[drop]\nmode = 'netem'\nparams = { echo_interval_s = -1 }",
        "newline_key.toml": 'name = "x"\n"a\\nb" = 1',
        "raises.py": "raise RuntimeError('boom')",
        "targets_str.toml": 'targets = "x"',
        "targets_nourl.toml": "[targets.lab]\nnetbios_name = 'X'",
        "targets_broken.toml": "[targets.lab",
        "targets_name.toml": '[targets.lab]\nurl = "smb://u@h/s"\nnetbios_name = 7',
    }
    paths = {}
    for name, text in files.items():
        (d / name).write_text(text)
        paths[name.replace(".", "_")] = str(d / name)
    (d / "binary.toml").write_bytes(b"\xff\xfe\x00garbage\x80")
    paths["binary_toml"] = str(d / "binary.toml")
    (d / "dir.toml").mkdir()
    paths["dir_toml"] = str(d / "dir.toml")
    paths["dir"] = str(d)
    paths.update(
        silent=servers.tcp(servers.silent),
        garbage=servers.tcp(servers.garbage),
        closes=servers.tcp(servers.closes),
        keepalives=servers.tcp(servers.keepalives),
        nbstat_loop=servers.nbstat_loop(),
        closed=hostile_smb.closed_port(),
        nodns=f"nbth-{os.getpid()}-nodns",
    )
    smb_server = hostile_smb.ImpacketSmbServer("root", SECRET)
    relays = {name: hostile_smb.FrameRelay(smb_server.port, rewrite, inject)
              for name, (rewrite, inject) in SMB_SERVERS.items()}
    paths.update({name: relay.port for name, relay in relays.items()})
    paths["relays"] = relays
    sh("ip", "netns", "add", paths["nodns"])  # no interface up: no query leaves the machine
    yield paths
    sh("ip", "netns", "del", paths["nodns"], check=False)
    for relay in relays.values():
        relay.close()
    smb_server.close()
    servers.close()


URL = "smb://root@127.0.0.1:{port}/share?netbios_name=SRV&ns_port={closed}"
SMB_SERVERS = {  # name: (rewrite of the server's answers, what the relay sends of its own)
    "smb_absurd": (hostile_smb.absurd_negotiate, None),
    "smb_more_processing": (hostile_smb.more_processing_forever, None),
    "smb_long_read": (hostile_smb.long_read, None),
    "smb_break_storm": (hostile_smb.unchanged, hostile_smb.oplock_break_storm),
    "smb_echo_id": (hostile_smb.echo_wrong_id, None),
}
SMB_URL = "smb://root@127.0.0.1:{port}/SHARE?netbios_name=SRV&ns_port={closed}&smb_port={closed}"
# impacket's server speaks SMB 2.0.2 and has no name service (nbstat, nb_query), and its
# srvsvc pipe serves one client at a time (rpc_shares); short phases
SMB_RUN = [
    *("--set", "dialect=2.0.2", "--set", "probes.nbstat=0", "--set", "phases.warmup_s=0.3"),
    *("--set", "probes.nb_query=0", "--set", "probes.rpc_shares=0"),
    *("--set", "phases.baseline_s=1", "--set", "phases.fault_s=1.5"),
    *("--set", "phases.recovery_s=0.5"),
]
# (id, scenario, server, exit code, verdict (None: the run never started), text in the line)
SMB_CASES = [
    # sizes are never trusted: blackhole's 1 MiB goes as 16 READs of 64 KiB (2.0.2 has no
    # multi-credit READ), not as one READ of 4 GiB charging 65,536 credits
    ("smb-absurd-negotiate", "blackhole", "smb_absurd", 0, "pass", "drop blackhole proven"),
    ("smb-more-processing-forever", "baseline", "smb_more_processing", 3, None,
     "STATUS_MORE_PROCESSING_REQUIRED"),
    ("smb-read-longer-than-asked", "baseline", "smb_long_read", 1, "fail",
     "acknowledged data came back wrong"),
    ("smb-break-storm", "baseline", "smb_break_storm", 0, "pass", "all bounds held"),
    ("smb-echo-other-id", "baseline", "smb_echo_id", 3, "error", "which was never sent"),
]
# Known limit, open: impacket's SMB3.recvSMB recurses once per message it did not ask for, so
# a shared prober's session (1-2 Hz, issue 19's request classes) that finds hundreds of
# unsolicited breaks queued dies of RecursionError (an error verdict, exit 3). The storm case
# judges the probes that skip them (smb_echo, smb_rw, smb_open) until the shared probers
# receive iteratively.
SHARED_OFF = [a for p in ("smb_lock", "smb_logon", "smb_list", "smb_stat", "smb_meta")
              for a in ("--set", f"probes.{p}=0")]
SMB_EXTRA = {"smb_break_storm": SHARED_OFF}
# (id, argv after "nbt-harness", extra environment, exit code, message on stderr)
CASES = [
    # scenario files
    ("toml-syntax", ["run", "{not_toml_toml}"], {}, 2, "not valid TOML"),
    ("no-name", ["run", "{no_name_toml}"], {}, 2, "'name'"),
    ("unknown-key", ["run", "{unknown_key_toml}"], {}, 2, "unknown key(s): bogus"),
    ("unknown-drop", ["run", "{meteor_toml}"], {}, 2, "unknown drop mode 'meteor'"),
    ("phase-inf", ["run", "{inf_toml}"], {}, 2, "must be a finite number"),
    ("phase-1e12", ["run", "{huge_toml}"], {}, 2, "recovery_s must be a number from 0 to 3600"),
    ("bounds-scalar", ["run", "{bounds5_toml}"], {}, 2, "[bounds] must be a table"),
    (
        "per-probe-scalar",
        ["run", "{perprobe5_toml}"],
        {},
        2,
        "[bounds.per_probe.nbstat] must be a table",
    ),
    ("bound-nan", ["run", "{nan_toml}"], {}, 2, "must be a finite number"),
    ("phase-bool", ["run", "{bool_toml}"], {}, 2, "warmup_s must be a number"),
    ("netem-negative", ["run", "{netem_toml}"], {}, 2, "echo_interval_s"),
    ("newline-key", ["run", "{newline_key_toml}"], {}, 2, "unknown key(s): a\\nb"),
    ("binary-file", ["run", "{binary_toml}"], {}, 2, "not valid TOML"),
    ("directory-as-file", ["run", "{dir_toml}"], {}, 2, "no such scenario file"),
    ("script-raises", ["run", "{raises_py}"], {}, 2, "failed to load: RuntimeError: boom"),
    ("unknown-name", ["run", "nosuch"], {}, 2, "unknown scenario 'nosuch'"),
    ("wrong-suffix", ["run", "scenario.txt"], {}, 2, "unknown scenario"),
    (
        "scenario-dir-missing",
        ["list", "--scenario-dir", "{dir}/nope"],
        {},
        2,
        "no scenario directory",
    ),
    # overrides
    ("set-no-equals", ["run", "rst", "--set", "nokey"], {}, 2, "KEY=VALUE"),
    ("set-empty-key", ["run", "rst", "--set", "=5"], {}, 2, "KEY=VALUE"),
    (
        "set-per-probe-scalar",
        ["run", "rst", "--set", "bounds.per_probe=1"],
        {},
        2,
        "[bounds.per_probe] must be a table",
    ),
    ("set-negative-phase", ["run", "rst", "--set", "phases.fault_s=-1"], {}, 2, "fault_s"),
    ("set-infinity", ["run", "rst", "--set", "phases.recovery_s=Infinity"], {}, 2, "finite number"),
    ("set-nan-bound", ["run", "rst", "--set", "bounds.p99_floor_ms=NaN"], {}, 2, "finite number"),
    ("set-not-a-number", ["run", "rst", "--set", "healthy_clients=many"], {}, 2, "healthy_clients"),
    ("set-empty-part", ["run", "rst", "--set", "phases..fault_s=1"], {}, 2, "invalid override key"),
    (
        "set-netem-interval",
        ["run", "netem", "--set", "drop.params.echo_interval_s=-1"],
        {},
        2,
        "echo_interval_s",
    ),
    # target strings (none may echo the password typed into them)
    ("target-unknown", ["run", "rst", "--target", "moon"], {}, 2, "invalid target 'moon'"),
    (
        "target-upper-scheme",
        ["run", "rst", "--target", f"SMB://u:{SECRET}@host/s"],
        {},
        2,
        "do not put the password",
    ),
    (
        "target-other-scheme",
        ["run", "rst", "--target", f"smbx://u:{SECRET}@host/s"],
        {},
        2,
        "u:****@host",
    ),
    ("target-bare-userinfo", ["run", "rst", "--target", f"u:{SECRET}@host"], {}, 2, "u:****@host"),
    (
        "target-bad-trigger",
        ["run", "rst", "--target", "replica:bogus"],
        {},
        2,
        "replica trigger must be one of",
    ),
    ("target-bad-ipv6", ["run", "rst", "--target", "smb://u@[::1/s"], {}, 2, "does not parse"),
    ("target-no-share", ["run", "rst", "--target", "smb://u@host"], {}, 2, "exactly one share"),
    (
        "target-unknown-option",
        ["run", "rst", "--target", "smb://u@host/s?bogus=1"],
        {},
        2,
        "unknown target option",
    ),
    ("target-port-range", ["run", "rst", "--target", "smb://u@host:99999/s"], {}, 2, "port"),
    (
        "target-long-name",
        ["run", "rst", "--target", "smb://u@host/s?netbios_name=ABCDEFGHIJKLMNOPQRS"],
        {},
        2,
        "invalid netbios_name",
    ),
    (
        "target-no-password",
        ["run", "rst", "--target", "smb://u@127.0.0.1/s"],
        {"NBT_HARNESS_PASSWORD": None},
        2,
        "no password",
    ),
    (
        "target-password-file",
        ["run", "rst", "--target", "smb://u@127.0.0.1/s?password_file=/nonexistent/pw"],
        {},
        2,
        "cannot read the password file",
    ),
    # targets files
    (
        "targets-string",
        ["run", "rst", "--target", "lab"],
        {"NBT_HARNESS_CONFIG": "{targets_str_toml}"},
        2,
        "'targets' must be tables",
    ),
    (
        "targets-no-url",
        ["run", "rst", "--target", "lab"],
        {"NBT_HARNESS_CONFIG": "{targets_nourl_toml}"},
        2,
        "needs url",
    ),
    (
        "targets-broken",
        ["run", "rst", "--target", "lab"],
        {"NBT_HARNESS_CONFIG": "{targets_broken_toml}"},
        2,
        "not valid TOML",
    ),
    (
        "targets-directory",
        ["run", "rst", "--target", "lab"],
        {"NBT_HARNESS_CONFIG": "{dir}"},
        2,
        "cannot read the targets file",
    ),
    (
        "targets-bad-name",
        ["run", "rst", "--target", "lab"],
        {"NBT_HARNESS_CONFIG": "{targets_name_toml}"},
        2,
        "netbios_name must be a string",
    ),
    # replica options
    (
        "replica-listen",
        ["replica", "--listen", "x", "--upstream", "127.0.0.2"],
        {},
        2,
        "listen address",
    ),
    (
        "replica-hold-nan",
        ["replica", "--listen", "127.0.0.1", "--upstream", "127.0.0.2", "--hold-s", "nan"],
        {},
        2,
        "hold_s",
    ),
    (
        "replica-trigger",
        ["replica", "--listen", "127.0.0.1", "--upstream", "127.0.0.2", "--trigger", "bogus"],
        {},
        2,
        "trigger",
    ),
    (
        "replica-log",
        ["replica", "--listen", "127.0.0.1", "--upstream", "127.0.0.2", "--log", "/nonexistent/x"],
        {},
        2,
        "cannot open log file",
    ),
    (
        "run-hold-nan",
        ["run", "rst", "--target", "replica", "--hold-s", "nan"],
        {},
        2,
        "--hold-s must be",
    ),
    (
        "run-degrade-negative",
        ["run", "rst", "--target", "replica", "--degrade-ms", "-5"],
        {},
        2,
        "--degrade-ms must be",
    ),
    ("usage", ["frobnicate"], {}, 2, "invalid choice"),
    # hostile servers (infrastructure: exit 3)
    (
        "server-refused",
        ["run", "baseline", "--target", URL.replace("{port}", "{closed}")],
        {},
        3,
        "refused",
    ),
    (
        "server-silent",
        ["run", "baseline", "--target", URL.replace("{port}", "{silent}")],
        {},
        3,
        "does not speak NBT",
    ),
    (
        "server-garbage",
        ["run", "baseline", "--target", URL.replace("{port}", "{garbage}")],
        {},
        3,
        "does not speak NBT",
    ),
    (
        "server-closes",
        ["run", "baseline", "--target", URL.replace("{port}", "{closes}")],
        {},
        3,
        "not a usable NBT session service",
    ),
    (
        "server-nbstat-loop",
        [
            "run",
            "baseline",
            "--target",
            "smb://root@127.0.0.1:{keepalives}/share?ns_port={nbstat_loop}",
        ],
        {},
        3,
        "does not answer NBSTAT with a server name",
    ),
    (
        "server-keepalives",
        ["run", "baseline", "--target", URL.replace("{port}", "{keepalives}")],
        {},
        3,
        "unreachable",
    ),
    (
        "unknown-host",
        ["run", "baseline", "--target", "smb://root@no-such-host.invalid/share"],
        {"NETNS": "{nodns}"},
        3,
        "unknown host",
    ),
]


CONCURRENT_CASES = 4  # the cases wait on processes and hostile servers more than on the CPU


def run_case(env, case_dir: Path, argv, extra_env):
    """One case as a user would run it: (finished process, seconds it took)."""
    argv = [a.format(**env) for a in argv]
    run_env = {**os.environ, "NBT_HARNESS_PASSWORD": SECRET}
    run_env.pop("NBT_HARNESS_CONFIG", None)
    netns_name = None
    for k, v in extra_env.items():
        if k == "NETNS":
            netns_name = v.format(**env)
        elif v is None:
            run_env.pop(k, None)
        else:
            run_env[k] = v.format(**env)
    if argv[0] == "run":
        argv += ["--report-dir", str(case_dir / "rep")]
    prefix = ["ip", "netns", "exec", netns_name] if netns_name else []
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "harness", *argv],
        capture_output=True,
        text=True,
        timeout=CASE_LIMIT_S + 10,
        cwd=case_dir,
        env={**run_env, "PYTHONPATH": str(REPO)},
    )
    return done, time.monotonic() - started


@pytest.fixture(scope="module")
def outcomes(env, tmp_path_factory):
    """Every case run once, CONCURRENT_CASES at a time (each in a directory of its own, with
    the hostile servers shared as before): {case id: (process, seconds, its directory)}.
    Each case is still judged by a test of its own, below."""
    base = tmp_path_factory.mktemp("cases")

    def one(case):
        case_dir = base / case[0]
        case_dir.mkdir()
        try:
            return case[0], (*run_case(env, case_dir, case[1], case[2]), case_dir)
        except subprocess.TimeoutExpired as exc:  # that case's test fails, not the others
            return case[0], (None, exc.timeout, case_dir)

    smb_cases = [
        (c[0], ["run", c[1], "--target", SMB_URL.replace("{port}", f"{{{c[2]}}}"), *SMB_RUN,
                *SMB_EXTRA.get(c[2], [])], {})
        for c in SMB_CASES
    ]
    with ThreadPoolExecutor(CONCURRENT_CASES) as pool:
        done = dict(pool.map(one, CASES))
    # One at a time: their relays are threads of this process, and a run is judged by its
    # latencies (a storm next door would slow a neighbour's relay).
    return {**done, **dict(map(one, smb_cases))}


@pytest.mark.parametrize(
    "case_id, code, message", [(c[0], c[3], c[4]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_corpus(outcomes, case_id, code, message):
    done, took_s, case_dir = outcomes[case_id]
    assert done is not None, f"still running after {took_s:.0f}s"
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, (done.returncode, done.stderr)
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert SECRET not in done.stdout + done.stderr
    for f in case_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")
    assert took_s < CASE_LIMIT_S, took_s
    if code == 2:  # refused before anything started
        assert took_s < BAD_INPUT_LIMIT_S and "ready in" not in done.stdout, (took_s, done.stdout)


@pytest.mark.parametrize("case_id, scenario, server, code, verdict, text", SMB_CASES,
                         ids=[c[0] for c in SMB_CASES])
def test_hostile_smb_server(env, outcomes, case_id, scenario, server, code, verdict, text):
    """A run against a hostile SMB server ends in time with its exit code and one clear
    line: the scenario's verdict line on stdout (nothing on stderr), or, when the target
    never became ready, one line on stderr."""
    done, took_s, case_dir = outcomes[case_id]
    assert done is not None, f"still running after {took_s:.0f}s"
    assert took_s < CASE_LIMIT_S, took_s
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert SECRET not in done.stdout + done.stderr
    for f in case_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")
    if verdict is None:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and text in lines[0], done.stderr
        return
    assert done.stderr.strip() == "", done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"== {scenario}")]
    assert len(lines) == 1 and f": {verdict.upper()} " in lines[0] and text in lines[0], done.stdout
    entry = json.loads((case_dir / "rep" / "report.json").read_text())["scenarios"][0]
    if server == "smb_absurd":
        assert entry["drop"]["detail"]["outstanding_reads"] == 16, entry["drop"]
    if server == "smb_break_storm":
        assert env["relays"][server].injected > 100, "the storm never reached the clients"


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40 and len(SMB_CASES) >= 5
