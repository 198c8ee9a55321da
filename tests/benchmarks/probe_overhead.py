"""Probe overhead: how close the harness's probes come to the service floor. A benchmark.

    sudo .venv/bin/python -m tests.benchmarks.probe_overhead [--samples 2000] [--seconds 10]

Against one embedded Samba, in one run, from the same client host:
  1. the service floors: a minimal NBSTAT loop (raw UDP, prebuilt query) and a minimal SMB2
     ECHO loop (prebuilt request on an established session), back to back, each timed from
     its send;
  2. the same loops open-loop at the probes' rates, timed from each intended send time:
     after sleeping until it (the machine's wake-up cost included), and with the probes'
     sleep-then-spin wait (harness.probes.timing.send_at), with the CPU that costs;
  3. the harness's own probes in a baseline run (latency from the intended time, schedule
     lag = sent - intended, and service time = completed - sent);
  4. smbtorture's smb2.bench.echo on the same server, when samba-testsuite is installed.
Prints the figures and the ratios against the issue's goals.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.history import read_events
from harness.lab.inns import call_in_netns
from harness.packets.nbt import node_status_request, parse_session_header, session_message_header
from harness.packets.smb2 import echo_request, parse_header
from harness.probes.timing import send_at
from harness.run.runner import run_scenario
from harness.scenario.files import resolve
from harness.stats import percentile
from harness.targets.local import LocalSamba

SPIN_S = 0.002


def _q(values_us: list[float]) -> tuple[float, float]:
    return percentile(values_us, 50), percentile(values_us, 99)


def _nbstat_once(sock, query_tail: bytes, trn: int) -> None:
    sock.send(trn.to_bytes(2, "big") + query_tail)
    while sock.recv(2048)[:2] != trn.to_bytes(2, "big"):
        pass


def _echo_once(sock, framing: bytes, window: dict) -> None:
    mid = window["SequenceWindow"]
    window["SequenceWindow"] = mid + 1
    sock.sendall(framing + echo_request(mid))
    while True:
        head = sock.recv(4, socket.MSG_WAITALL)
        _kind, length = parse_session_header(head)
        body = sock.recv(length, socket.MSG_WAITALL)
        if parse_header(body)[2] == mid:
            return


def _loops(endpoint, samples: int, seconds: float, rates: dict) -> dict:
    """Runs inside the client host: floors, then open-loop (sleep, and sleep-then-spin)."""
    from harness.clients.session import open_session

    out: dict = {}
    ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ns.connect((endpoint.host, endpoint.ns_port))
    ns.settimeout(2.0)
    tail = node_status_request(0)[2:]
    session = open_session(endpoint, "NBTH-BENCH", 2.0, "smb3")
    sock = session.sock
    sock.settimeout(2.0)
    window = session.smb._Connection
    framing = session_message_header(len(echo_request(0)))
    ops = {"nbstat": lambda i: _nbstat_once(ns, tail, i & 0xFFFF),
           "smb_echo": lambda i: _echo_once(sock, framing, window)}
    for name, op in ops.items():
        for i in range(50):  # warm up
            op(i)
        lat = []
        for i in range(samples):
            t = time.perf_counter()
            op(i)
            lat.append((time.perf_counter() - t) * 1e6)
        out[f"{name} floor (back to back)"] = _q(lat)
        for mode in ("sleep", "spin"):
            lat, lag = [], []
            rate = rates[name]
            n = int(seconds * rate)
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic() + 0.05
            for k in range(n):
                due = t0 + k / rate
                if mode == "sleep":
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    sent = time.monotonic()
                else:
                    sent = send_at(due, SPIN_S)
                op(k)
                done = time.monotonic()
                lat.append((done - due) * 1e6)
                lag.append((sent - due) * 1e6)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            out[f"{name} open-loop {rate:g} Hz, {mode}"] = (*_q(lat), *_q(lag), cpu_s / (n / rate))
    session.close()
    ns.close()
    return out


def _smbtorture(target: LocalSamba, host_netns: str) -> str:
    if not shutil.which("smbtorture"):
        return "smbtorture not installed (apt-get install samba-testsuite)"
    ep = target.endpoint
    env = {**os.environ, "PASSWD": ep.password}
    try:
        done = subprocess.run(["ip", "netns", "exec", host_netns, "smbtorture",
                               f"//{ep.host}/{ep.share}", "-U", ep.username,
                               "--option=torture:timelimit=5", "smb2.bench.echo"],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
    except subprocess.TimeoutExpired:
        return "smbtorture timed out"
    text = done.stdout + done.stderr
    m = re.findall(r"([\d.]+) echos/sec.*?", text) or re.findall(r"echo.*", text)
    lines = [ln.strip() for ln in text.splitlines() if re.search(r"echo|latency|avslat", ln, re.I)]
    return "; ".join(lines[-3:]) if lines else f"no figure (exit {done.returncode})" if not m else m[-1]


def _harness(target: LocalSamba, seconds: float, work: Path) -> dict:
    sc = resolve(["baseline"])[0].with_overrides(
        {"phases.warmup_s": "1", "phases.baseline_s": str(seconds), "phases.fault_s": "0",
         "phases.recovery_s": "0"})
    run_scenario(sc, target, work / "baseline")
    lat: dict = {}
    lag: dict = {}
    service: dict = {}
    for e in read_events(work / "baseline" / "history.jsonl"):
        if e.get("type") == "ok" and e.get("sent_s") is not None and e.get("role") == "healthy":
            p = e["probe"]
            lat.setdefault(p, []).append(e["latency_us"])
            service.setdefault(p, []).append(e["service_us"])
    invokes = {(e["process"], e["probe"], e["seq"]): e["intended_s"]
               for e in read_events(work / "baseline" / "history.jsonl") if e.get("type") == "invoke"}
    for e in read_events(work / "baseline" / "history.jsonl"):
        if e.get("type") == "ok" and e.get("sent_s") is not None:
            key = (e["process"], e["probe"], e["seq"])
            if key in invokes:
                lag.setdefault(e["probe"], []).append((e["sent_s"] - invokes[key]) * 1e6)
    return {p: (*_q(lat[p]), *_q(lag[p]), *_q(service[p])) for p in lat}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=2000, help="back-to-back samples per floor")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each open-loop run")
    p.add_argument("--server-rt", action="store_true",
                   help="the embedded smbd/nmbd at SCHED_RR 2 (target local:server-rt)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("probe_overhead: needs root (namespaces, smbd)", file=sys.stderr)
        return 3
    work = Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-bench-"))
    rates = {"nbstat": 20.0, "smb_echo": 10.0}
    try:
        with LocalSamba(raise_server_priority=args.server_rt) as target:
            host = target.client_netns("healthy")
            loops = call_in_netns(host, _loops, target.endpoint, args.samples, args.seconds, rates,
                                  timeout_s=600)
            torture = _smbtorture(target, host)
            probes = _harness(target, args.seconds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'measure':<40} {'p50 us':>9} {'p99 us':>9} {'lag p50':>9} {'lag p99':>9} {'cpu':>6}")
    for name, v in loops.items():
        extra = f"{v[2]:>9.0f} {v[3]:>9.0f} {v[4] * 100:>5.1f}%" if len(v) > 2 else ""
        print(f"{name:<40} {v[0]:>9.0f} {v[1]:>9.0f} {extra}")
    for probe, v in sorted(probes.items()):
        print(f"{'harness ' + probe:<40} {v[0]:>9.0f} {v[1]:>9.0f} {v[2]:>9.0f} {v[3]:>9.0f}"
              f"   service p50/p99 {v[4]:.0f}/{v[5]:.0f} us")
    print(f"smbtorture smb2.bench.echo: {torture}")
    nb_floor, echo_floor = loops["nbstat floor (back to back)"], loops["smb_echo floor (back to back)"]
    goals = [
        ("nbstat probe p50 / floor p50", probes["nbstat"][0] / nb_floor[0], 1.3),
        ("nbstat probe p99 / floor p99", probes["nbstat"][1] / nb_floor[1], 3.0),
        ("smb_echo probe p50 / raw echo p50", probes["smb_echo"][0] / echo_floor[0], 1.5),
    ]
    same_rate = [
        ("nbstat probe p50 / raw loop at 20 Hz (spin) p50", probes["nbstat"][0]
         / loops["nbstat open-loop 20 Hz, spin"][0]),
        ("smb_echo probe p50 / raw loop at 10 Hz (spin) p50", probes["smb_echo"][0]
         / loops["smb_echo open-loop 10 Hz, spin"][0]),
    ]
    print("\nagainst the same operation sent by a raw loop at the probe's rate (the server, not")
    print("kept busy back to back, sleeps between operations and is woken by each one):")
    for name, ratio in same_rate:
        print(f"{name:<52} {ratio:>6.2f}")
    print("\ngoal                                      ratio   goal")
    for name, ratio, goal in goals:
        print(f"{name:<40} {ratio:>7.2f} {'<=':>3}{goal:g}  {'met' if ratio <= goal else 'NOT met'}")
    worst_lag = max(v[3] for v in probes.values())
    print(f"{'schedule lag p99 (worst probe), us':<40} {worst_lag:>7.0f} {'<=':>3}100  "
          f"{'met' if worst_lag <= 100 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
