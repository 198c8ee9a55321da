"""The replica on real loopback sockets: a relay subprocess in front of a small NBT echo server.

The upstream here answers an NBT SESSION REQUEST (0x81) with 0x82, echoes every SESSION MESSAGE
(a body starting with ``SLOW`` after 0.5 s; ``BIG`` gets 4 MiB back) and answers NODE STATUS
requests on UDP. Only 127.0.0.1 is used, on ports the kernel picks.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.errors import ProbeTimeout
from harness.packets.nbt import (
    POSITIVE_SESSION_RESPONSE,
    SESSION_MESSAGE,
    SESSION_REQUEST,
    encode_name,
    node_status_request,
    parse_node_status_response,
    session_message_header,
    session_request,
)
from harness.probes import nbt_session

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
OP_TIMEOUT_S = 5.0
HOLD_S = 0.8
FRAME_TIMEOUT_S = 0.3
SLOW_REPLY_S = 0.5
BIG_REPLY_BYTES = 4 * 1024 * 1024


# --- wire helpers ------------------------------------------------------------------------------


def recv_exact(sock: socket.socket, n: int, timeout_s: float = OP_TIMEOUT_S) -> bytes:
    """The probe's recv_exact, with a plain TimeoutError as these tests expect."""
    try:
        return nbt_session.recv_exact(sock, n, time.monotonic() + timeout_s, f"{n} bytes")
    except ProbeTimeout as exc:
        raise TimeoutError(str(exc)) from None


def recv_frame(sock: socket.socket, timeout_s: float = OP_TIMEOUT_S) -> tuple[int, bytes]:
    header = recv_exact(sock, 4, timeout_s)
    length = int.from_bytes(header[1:], "big")
    return header[0], recv_exact(sock, length, timeout_s) if length else b""


def message(body: bytes) -> bytes:
    """A SESSION MESSAGE; its length in 24 bits, as direct TCP and Samba read it."""
    return bytes([SESSION_MESSAGE]) + len(body).to_bytes(3, "big") + body


def node_status_response(trn_id: int, name: str = "UPSTREAM") -> bytes:
    """A NODE STATUS RESPONSE (RFC 1002 4.2.18) with one name, name<20>."""
    rdata = bytes([1]) + name.ljust(15).encode() + b"\x20" + b"\x04\x00" + b"\x00" * 46
    return (
        struct.pack(">HHHHHH", trn_id, 0x8400, 0, 1, 0, 0)
        + encode_name("*", 0x00)
        + struct.pack(">HHIH", 0x0021, 0x0001, 0, len(rdata))
        + rdata
    )


def tcp_unacked(sock: socket.socket) -> int:
    """tcpi_unacked from TCP_INFO: bytes sent and not yet ACKed by the peer's kernel."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 24)[0]


# --- the real server behind the relay ----------------------------------------------------------


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream: Upstream = self.server.upstream  # type: ignore[attr-defined]
        try:
            while True:
                ptype, body = recv_frame(sock, timeout_s=30.0)
                if ptype == SESSION_REQUEST:
                    sock.sendall(bytes([POSITIVE_SESSION_RESPONSE, 0, 0, 0]))
                elif ptype == SESSION_MESSAGE:
                    upstream.record(body)
                    if body.startswith(b"SLOW"):
                        time.sleep(SLOW_REPLY_S)
                    if body.startswith(b"BIG"):
                        sock.sendall(message(b"\x00" * BIG_REPLY_BYTES))
                    else:
                        sock.sendall(message(body))
        except (OSError, TimeoutError, ConnectionError):
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Upstream:
    """NBT echo servers (two TCP ports) and a NODE STATUS responder (UDP), in threads."""

    received: list[tuple[float, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._servers = []
        for _ in range(2):
            server = _Server((LOOPBACK, 0), _EchoHandler)
            server.upstream = self  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self._servers.append(server)
        self.nbt_port = self._servers[0].server_address[1]
        self.smb_port = self._servers[1].server_address[1]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((LOOPBACK, 0))
        self._udp.settimeout(0.05)
        self.ns_port = self._udp.getsockname()[1]
        self._stop = threading.Event()
        self._udp_thread = threading.Thread(target=self._answer_udp, daemon=True)
        self._udp_thread.start()

    def _answer_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self._udp.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            self._udp.sendto(node_status_response(struct.unpack(">H", data[:2])[0]), addr)

    def record(self, body: bytes) -> None:
        with self.lock:
            self.received.append((time.monotonic(), body))

    def got(self, body: bytes) -> float | None:
        with self.lock:
            return next((t for t, b in self.received if b == body), None)

    def stop(self) -> None:
        self._stop.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._udp_thread.join(2)
        self._udp.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    up.start()
    yield up
    up.stop()


# --- the relay under test ----------------------------------------------------------------------


@dataclass
class RelayProc:
    proc: subprocess.Popen
    log_path: Path
    nbt_port: int
    smb_port: int
    ns_port: int

    def events(self, kind: str | None = None) -> list[dict]:
        lines = self.log_path.read_text().splitlines() if self.log_path.exists() else []
        events = [json.loads(line) for line in lines if line.strip()]
        return [e for e in events if kind is None or e["event"] == kind]

    def wait_event(self, kind: str, timeout_s: float = OP_TIMEOUT_S, count: int = 1) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.events(kind)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.005)
        raise AssertionError(f"no {kind!r} event #{count} within {timeout_s}s: {self.events()}")


def _read_line(proc: subprocess.Popen, timeout_s: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise AssertionError(f"relay printed nothing within {timeout_s}s")
    return proc.stdout.readline()


ENV = dict(os.environ, PYTHONPATH=str(REPO))


def replica_argv(upstream: Upstream | None, options: str, *extra: str) -> list[str]:
    """``python -m harness.replica`` on loopback, kernel-picked listen ports, ``upstream``'s."""
    argv = [sys.executable, "-m", "harness.replica", "--listen", LOOPBACK, "--upstream", LOOPBACK]
    argv += ["--nbt-port", "0", "--smb-port", "0", "--ns-port", "0"]
    if upstream is not None:
        for name in ("nbt", "smb", "ns"):
            argv += [f"--upstream-{name}-port", str(getattr(upstream, f"{name}_port"))]
    return argv + options.split() + list(extra)


@pytest.fixture
def start_relay(tmp_path: Path, upstream: Upstream) -> Iterator[Callable[..., RelayProc]]:
    started: list[RelayProc] = []

    def start(trigger: str = "any", hold_s: float = HOLD_S, *extra: str) -> RelayProc:
        log_path = tmp_path / f"relay{len(started)}.jsonl"
        cmd = replica_argv(
            upstream,
            f"--trigger {trigger} --hold-s {hold_s} --frame-timeout-s {FRAME_TIMEOUT_S}",
            "--log",
            str(log_path),
            *extra,
        )
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            listening = json.loads(_read_line(proc, OP_TIMEOUT_S))
        except Exception:
            proc.kill()
            raise
        assert listening["event"] == "listening"
        relay = RelayProc(
            proc, log_path, listening["nbt_port"], listening["smb_port"], listening["ns_port"]
        )
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.proc.send_signal(signal.SIGTERM)
        try:
            rc = relay.proc.wait(OP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            relay.proc.kill()
            raise
        stderr = relay.proc.stderr.read() if relay.proc.stderr else ""
        assert rc == 0, stderr
        assert "Traceback" not in stderr, stderr


class Client:
    """An NBT client on the relay: session request, messages, graceful close or reset."""

    def __init__(self, port: int, session: bool = True) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=OP_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if session:
            self.request_session()

    def request_session(self, timeout_s: float = OP_TIMEOUT_S) -> None:
        self.sock.sendall(session_request("UPSTREAM", "CLIENT"))
        assert recv_frame(self.sock, timeout_s) == (POSITIVE_SESSION_RESPONSE, b"")

    def send(self, body: bytes) -> None:
        self.sock.sendall(message(body))

    def recv(self, timeout_s: float = OP_TIMEOUT_S) -> bytes:
        ptype, body = recv_frame(self.sock, timeout_s)
        assert ptype == SESSION_MESSAGE
        return body

    def echo(self, body: bytes, timeout_s: float = OP_TIMEOUT_S) -> float:
        t0 = time.monotonic()
        self.send(body)
        assert self.recv(timeout_s) == body
        return time.monotonic() - t0

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def nbstat(port: int, trn_id: int = 0x1234) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(OP_TIMEOUT_S)
    sock.connect((LOOPBACK, port))
    sock.send(node_status_request(trn_id))
    return sock


def nbstat_answer(sock: socket.socket, timeout_s: float = OP_TIMEOUT_S) -> str | None:
    sock.settimeout(timeout_s)
    status = parse_node_status_response(sock.recv(2048))
    return status.server_name()


def nothing_within(sock: socket.socket, wait_s: float) -> bool:
    sock.settimeout(wait_s)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except (TimeoutError, BlockingIOError):
        return True
    return False


# --- tests -------------------------------------------------------------------------------------


def test_forwards_nbt_smb_and_nbstat_faithfully(start_relay, upstream) -> None:
    relay = start_relay("any")
    nbt = Client(relay.nbt_port)
    for body in (b"x", b"hello" * 100, bytes(range(256)) * 600):  # 150 KiB: > 17-bit length
        assert nbt.echo(body) < 1.0
    smb = Client(relay.smb_port, session=False)  # direct SMB: no session request
    assert smb.echo(b"\xfeSMB" + b"\x00" * 60) < 1.0
    udp = nbstat(relay.ns_port)
    assert nbstat_answer(udp) == "UPSTREAM"
    nbt.close()
    smb.close()
    udp.close()
    time.sleep(0.1)
    assert relay.events("trigger") == []


@pytest.mark.parametrize(
    ("trigger", "freezes"), [("any", True), ("reset", True), ("timeout", False), ("never", False)]
)
def test_reset_with_session_freezes_only_under_any_and_reset(
    start_relay, upstream, trigger, freezes
) -> None:
    relay = start_relay(trigger)
    bystander = Client(relay.nbt_port)
    bystander.echo(b"before")
    victim = Client(relay.nbt_port)
    victim.echo(b"victim")
    victim.reset()
    event = relay.wait_event("trigger")
    assert event["reason"] == "reset"
    assert event["action"] == ("freeze" if freezes else "ignored")
    t_trigger = event["t_monotonic"]

    udp = nbstat(relay.ns_port)
    bystander.send(b"during")
    newcomer = Client(relay.nbt_port, session=False)  # accepted even when frozen
    newcomer.sock.sendall(session_request("UPSTREAM", "LATE"))
    if not freezes:
        assert bystander.recv(1.0) == b"during"
        assert nbstat_answer(udp, 1.0) == "UPSTREAM"
        assert recv_frame(newcomer.sock, 1.0) == (POSITIVE_SESSION_RESPONSE, b"")
        assert time.monotonic() - t_trigger < HOLD_S / 2
        return

    # Frozen: the relay's TCP took the bytes (nothing unacked), but nothing is answered.
    assert nothing_within(bystander.sock, 0.25)
    assert tcp_unacked(bystander.sock) == 0
    assert upstream.got(b"during") is None
    assert nothing_within(udp, 0.01)
    assert nothing_within(newcomer.sock, 0.01)
    # Recovery, hold_s after the trigger: everything held is delivered.
    assert bystander.recv(2.0) == b"during"
    t_answer = time.monotonic()
    assert HOLD_S - 0.05 <= t_answer - t_trigger <= HOLD_S + 0.3
    assert nbstat_answer(udp, 1.0) == "UPSTREAM"
    assert recv_frame(newcomer.sock, 1.0) == (POSITIVE_SESSION_RESPONSE, b"")
    recover = relay.wait_event("recover")
    assert recover["action"] == "freeze"
    assert recover["held_datagrams"] == 1
    assert abs(recover["t_monotonic"] - t_trigger - HOLD_S) < 0.1
    assert bystander.echo(b"after") < 0.1  # relaying normally again


def test_recovery_flushes_everything_in_order(start_relay, upstream) -> None:
    relay = start_relay("any")
    bystander = Client(relay.nbt_port)
    victim = Client(relay.nbt_port)
    victim.echo(b"victim")
    victim.reset()
    relay.wait_event("trigger")
    bodies = [f"held-{i}".encode() * (i + 1) for i in range(20)]
    for body in bodies:
        bystander.send(body)
    assert nothing_within(bystander.sock, 0.2)
    assert [bystander.recv(2.0) for _ in bodies] == bodies


def test_trigger_during_freeze_extends_it(start_relay, upstream) -> None:
    relay = start_relay("any")
    bystander = Client(relay.nbt_port)
    victims = [Client(relay.nbt_port) for _ in range(2)]
    for v in victims:
        v.echo(b"v")
    victims[0].reset()
    first = relay.wait_event("trigger")
    time.sleep(0.4)
    victims[1].reset()
    second = relay.wait_event("trigger", count=2)
    assert second["extended"] is True and second["action"] == "freeze"
    bystander.send(b"x")
    assert bystander.recv(2.0) == b"x"
    waited = time.monotonic() - second["t_monotonic"]
    assert HOLD_S - 0.05 <= waited <= HOLD_S + 0.3
    assert len(relay.events("recover")) == 1
    assert second["t_monotonic"] - first["t_monotonic"] >= 0.35


def test_graceful_close_with_nothing_outstanding_does_not_trigger(start_relay, upstream) -> None:
    relay = start_relay("any")
    bystander = Client(relay.nbt_port)
    client = Client(relay.nbt_port)
    client.echo(b"logoff")
    client.close()  # FIN after the answer came back
    time.sleep(0.2)
    assert bystander.echo(b"still fine", 1.0) < 0.1
    assert relay.events("trigger") == []


@pytest.mark.parametrize("ending", ["close", "reset"])
def test_session_request_only_never_triggers(start_relay, upstream, ending) -> None:
    relay = start_relay("any")
    bystander = Client(relay.nbt_port)
    for _ in range(3):
        probe = Client(relay.nbt_port)  # 0x81 -> 0x82, no session message
        probe.close() if ending == "close" else probe.reset()
    time.sleep(0.2)
    assert bystander.echo(b"fine", 1.0) < 0.1
    assert relay.events("trigger") == []


@pytest.mark.parametrize(("trigger", "action"), [("any", "freeze"), ("timeout", "ignored")])
def test_close_with_request_outstanding(start_relay, upstream, trigger, action) -> None:
    relay = start_relay(trigger)
    client = Client(relay.nbt_port)
    client.send(b"SLOW request")  # the answer comes 0.5 s later
    time.sleep(0.05)
    client.close()
    event = relay.wait_event("trigger")
    assert event["reason"] == "close_outstanding" and event["action"] == action
    assert event["outstanding"] == 1


@pytest.mark.parametrize(
    ("trigger", "action"),
    [("any", "freeze"), ("timeout", "freeze"), ("reset", "ignored"), ("never", "ignored")],
)
def test_incomplete_frame_triggers_after_frame_timeout(
    start_relay, upstream, trigger, action
) -> None:
    relay = start_relay(trigger)
    bystander = Client(relay.nbt_port)
    client = Client(relay.nbt_port)
    client.sock.sendall(session_message_header(100) + b"only forty bytes of a hundred....!!!!!")
    t_sent = time.monotonic()
    event = relay.wait_event("trigger", timeout_s=2.0)
    assert event["reason"] == "frame_timeout" and event["action"] == action
    assert FRAME_TIMEOUT_S - 0.02 <= event["t_monotonic"] - t_sent <= FRAME_TIMEOUT_S + 0.3
    if action == "freeze":
        bystander.send(b"x")
        assert nothing_within(bystander.sock, 0.2)
        assert bystander.recv(2.0) == b"x"
    else:
        assert bystander.echo(b"x", 1.0) < 0.1
    client.close()


def test_stalled_reader_times_out(start_relay, upstream) -> None:
    """A client that advertises a zero window and never reads: TCP_USER_TIMEOUT ends it."""
    relay = start_relay("timeout", HOLD_S, "--user-timeout-ms", "500")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(OP_TIMEOUT_S)
    sock.connect((LOOPBACK, relay.smb_port))
    try:
        sock.sendall(message(b"BIG please"))  # 4 MiB comes back; we never read it
        event = relay.wait_event("trigger", timeout_s=8.0)
        assert event["reason"] == "timeout" and event["action"] == "freeze"
    finally:
        sock.close()


def test_degrade_delays_instead_of_freezing(start_relay, upstream) -> None:
    degrade_ms = 50.0
    relay = start_relay("any", 1.0, "--degrade-ms", str(degrade_ms))
    bystander = Client(relay.nbt_port)
    assert bystander.echo(b"before") < 0.02
    victim = Client(relay.nbt_port)
    victim.echo(b"v")
    victim.reset()
    event = relay.wait_event("trigger")
    assert event["action"] == "degrade"
    rtt_s = bystander.echo(b"slow now", 1.0)
    assert 2 * degrade_ms / 1000 - 0.005 <= rtt_s <= 2 * degrade_ms / 1000 + 0.05
    t0 = time.monotonic()
    udp = nbstat(relay.ns_port)
    assert nbstat_answer(udp, 1.0) == "UPSTREAM"
    assert degrade_ms / 1000 - 0.005 <= time.monotonic() - t0 <= degrade_ms / 1000 + 0.05
    recover = relay.wait_event("recover", timeout_s=2.0)
    assert recover["action"] == "degrade"
    assert bystander.echo(b"fast again") < 0.02


def test_bind_failure_exits_3_with_one_line(tmp_path, upstream) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind((LOOPBACK, 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        argv = replica_argv(upstream, "") + ["--nbt-port", str(port)]  # the last one counts
        done = subprocess.run(
            argv,
            check=False,
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=OP_TIMEOUT_S,
        )
    finally:
        blocker.close()
    assert done.returncode == 3
    assert done.stderr.strip().count("\n") == 0 and "cannot bind" in done.stderr


def test_bad_option_exits_2_with_one_line() -> None:
    argv = replica_argv(None, "--upstream-nbt-port 1139 --trigger sometimes")
    done = subprocess.run(
        argv, check=False, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=OP_TIMEOUT_S
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "sometimes" in done.stderr


def test_upstream_refusing_resets_the_client_without_trigger(start_relay, upstream) -> None:
    relay = start_relay("any")
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind((LOOPBACK, 0))  # bound, never listening: connections to it are refused
    closed_port = closed.getsockname()[1]
    try:
        argv = replica_argv(upstream, "--trigger any --log", str(relay.log_path) + ".2")
        argv += ["--upstream-smb-port", str(closed_port)]
        proc = subprocess.Popen(argv, cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
        try:
            ports = json.loads(_read_line(proc, OP_TIMEOUT_S))
            # The relay resets the client as soon as the upstream refuses: on loopback that
            # reset can land before connect() returns, or on the first send or receive.
            with pytest.raises((ConnectionResetError, ConnectionRefusedError, BrokenPipeError)):
                client = Client(ports["smb_port"], session=False)
                client.sock.settimeout(OP_TIMEOUT_S)
                client.send(b"anyone there?")
                recv_frame(client.sock)
            ok = Client(ports["nbt_port"])  # the other port still relays
            assert ok.echo(b"fine") < 1.0
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(OP_TIMEOUT_S) == 0
    finally:
        closed.close()
    log = [json.loads(line) for line in Path(str(relay.log_path) + ".2").read_text().splitlines()]
    assert [e["event"] for e in log] == ["listening"]
