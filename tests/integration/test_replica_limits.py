"""The stand-alone replica (`nbt-harness replica`) keeps to its limits: it listens only on
loopback or the lab subnet unless told --allow-any-address, resets connections over
--max-connections, and during a freeze holds at most --max-held-bytes per connection and
direction and --max-held-datagrams name-service datagrams; the numbers are in --help. Run
as a user would, on loopback, in front of a sink on 127.0.0.2 (real sockets)."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness import errors

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
REPLICA = [sys.executable, "-m", "harness", "replica"]


@pytest.mark.parametrize("addr", ["0.0.0.0", "::", "192.0.2.1"])
def test_wildcard_and_non_lab_addresses_are_refused(addr):
    done = subprocess.run(
        [*REPLICA, "--listen", addr, "--upstream", "127.0.0.2"],
        capture_output=True,
        text=True,
        timeout=10,
        env=ENV,
        check=False,
    )
    assert done.returncode == errors.EXIT_BAD_INPUT, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--allow-any-address" in lines[0], done.stderr


def test_help_states_the_limits():
    out = subprocess.run(
        [*REPLICA, "--help"], capture_output=True, text=True, timeout=10, env=ENV, check=False
    ).stdout
    text = " ".join(out.split())
    for needle in (
        "--allow-any-address",
        "--max-connections",
        "(default: 64)",
        "--max-held-bytes",
        "(default: 1048576;",
        "128 MiB in all",
        "--max-held-datagrams",
        "(default: 256)",
    ):
        assert needle in text, needle


class Sink:
    """The replica's upstream on 127.0.0.2: accepts, reads and discards, never answers."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.2", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.2", 0))
        self.conns: list[socket.socket] = []
        self.tcp.settimeout(0.2)
        self.stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        conn.close()  # the client's FIN, passed on: the connection ends

    def close(self) -> None:
        self.stop.set()
        for s in (self.tcp, self.udp, *self.conns):
            s.close()


@pytest.fixture
def replica(tmp_path):
    """start(*options) -> (ports, log path); the replica on 127.0.0.1 in front of a Sink."""
    sink = Sink()
    procs = []

    def start(*options: str):
        log = tmp_path / "replica.log"
        port = str(sink.tcp.getsockname()[1])
        proc = subprocess.Popen(
            [
                *REPLICA,
                "--listen",
                "127.0.0.1",
                "--upstream",
                "127.0.0.2",
                "--nbt-port",
                "0",
                "--smb-port",
                "0",
                "--ns-port",
                "0",
                "--upstream-nbt-port",
                port,
                "--upstream-smb-port",
                port,
                "--upstream-ns-port",
                str(sink.udp.getsockname()[1]),
                "--log",
                str(log),
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        procs.append(proc)
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        return json.loads(line), log

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
    sink.close()


def events(log: Path, kind: str, timeout_s: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == kind]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event in {log.read_text()}")


def test_connections_over_the_cap_are_reset(replica):
    ports, _ = replica("--max-connections", "2")
    held = [socket.create_connection(("127.0.0.1", ports["nbt_port"]), timeout=5) for _ in range(2)]
    time.sleep(0.2)
    third = socket.create_connection(("127.0.0.1", ports["nbt_port"]), timeout=5)
    with pytest.raises(ConnectionResetError):
        third.sendall(b"\x00\x00\x00\x04abcd")
        time.sleep(0.2)
        third.recv(1)
    held[0].close()  # a place frees up: the next connection is relayed
    time.sleep(0.2)
    fourth = socket.create_connection(("127.0.0.1", ports["nbt_port"]), timeout=1)
    fourth.sendall(b"\x00\x00\x00\x04abcd")
    fourth.settimeout(0.5)
    with pytest.raises(socket.timeout):  # relayed: the sink never answers, no reset
        fourth.recv(1)
    for s in (*held, third, fourth):
        s.close()


def test_a_freeze_holds_no_more_than_its_caps(replica):
    """One client's reset with a request outstanding freezes the replica for 2 s; meanwhile
    another client sends 4 MiB and 20 name-service queries come: at most --max-held-bytes
    (plus one read) and --max-held-datagrams are held."""
    cap_bytes = 65536
    ports, log = replica(
        "--max-held-bytes",
        str(cap_bytes),
        "--max-held-datagrams",
        "3",
        "--hold-s",
        "2",
        "--trigger",
        "reset",
    )
    talker = socket.create_connection(("127.0.0.1", ports["nbt_port"]), timeout=5)
    victim = socket.create_connection(("127.0.0.1", ports["nbt_port"]), timeout=5)
    victim.sendall(b"\x00\x00\x00\x04abcd")  # a request, never answered: outstanding
    time.sleep(0.2)
    victim.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    victim.close()  # RST: the trigger
    events(log, "trigger")
    talker.setblocking(False)
    chunk = b"\x00\x00\xff\xf0" + b"x" * 0xFFF0
    sent = 0
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(20):
        udp.sendto(b"\x00" * 50, ("127.0.0.1", ports["ns_port"]))
    deadline = time.monotonic() + 1.0
    while sent < 4 * 2**20 and time.monotonic() < deadline:
        try:
            sent += talker.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    recover = events(log, "recover")[0]
    # the client offered more than the bound below allows, so a replica that held all it was
    # offered (no cap) would break that bound
    assert sent > cap_bytes + 256 * 1024, sent
    assert recover["held_datagrams"] == 3, recover
    assert 0 < recover["held_bytes"] <= cap_bytes + 256 * 1024, recover
    talker.close()
    udp.close()
