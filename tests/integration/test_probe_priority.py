"""Probers and the canary run at real-time priority (harness.clients.priority), their
children at normal priority, and a process that may not do so says why and goes on."""

import json
import os
import subprocess
import sys

import pytest

from harness.clients.priority import raise_priority
from harness.lab.inns import FORK
from tests.conftest import FAST

pytestmark = pytest.mark.integration


def _in_child(fn):
    parent, child = FORK.Pipe(duplex=False)

    def body():
        try:
            child.send(fn())
        except BaseException as exc:  # noqa: BLE001 (report anything: never hang the test)
            child.send(f"error {type(exc).__name__}: {exc}")
        os._exit(0)

    p = FORK.Process(target=body)
    p.start()
    assert parent.poll(20), "the child did not answer"
    value = parent.recv()
    p.join(5)
    return value


def _raise_and_look():
    said = raise_priority()
    pid = os.fork()
    if pid == 0:  # a grandchild: back to normal scheduling
        os._exit(0 if os.sched_getscheduler(0) == os.SCHED_OTHER else 1)
    _, status = os.waitpid(pid, 0)
    return said, os.sched_getscheduler(0), os.sched_getparam(0).sched_priority, status


def test_a_prober_gets_sched_rr_and_its_children_do_not():
    said, policy, prio, grandchild_status = _in_child(_raise_and_look)
    assert said == "SCHED_RR 1"
    assert policy == os.SCHED_RR | os.SCHED_RESET_ON_FORK and prio == 1
    assert grandchild_status == 0


def test_without_the_right_a_prober_stays_normal_and_says_why():
    def unprivileged():
        os.setgid(65534)
        os.setuid(65534)  # nobody: no CAP_SYS_NICE, RLIMIT_RTPRIO 0
        return raise_priority(), os.sched_getscheduler(0)

    said, policy = _in_child(unprivileged)
    assert said.startswith("normal (PermissionError") and policy == os.SCHED_OTHER


def test_the_history_says_how_every_prober_and_the_canary_were_scheduled(tmp_path):
    sets = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
    done = subprocess.run([sys.executable, "-m", "harness", "run", "baseline", "--quiet",
                           "--report-dir", str(tmp_path), *sets],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (tmp_path / "baseline" / "history.jsonl").read_text().splitlines()
    start = next(e for e in map(json.loads, lines)
                 if e["type"] == "run" and e.get("event") == "start")
    # every prober and the real-time canary; canary_normal measures what a normal process
    # (the server) suffers, at normal priority on purpose (harness.procs.canary)
    assert start["scheduling"] == {name: "normal" if name == "canary_normal" else "SCHED_RR 1"
                                   for name in start["clients"]}


def _session_and_server_sched(endpoint, pids):
    """Every thread of the embedded Samba's processes (children included) while a session is
    open: {tid: (comm, policy, priority)}."""
    from harness.clients.priority import process_tree
    from harness.clients.session import open_session

    session = open_session(endpoint, "NBTHSCHED", 5.0)
    try:
        out = {}
        for pid in pids:
            for tid in process_tree(pid):
                with open(f"/proc/{tid}/comm") as f:
                    out[tid] = (f.read().strip(), os.sched_getscheduler(tid),
                                os.sched_getparam(tid).sched_priority)
        return out
    finally:
        session.close()


@pytest.mark.parametrize("raised", [True, False])
def test_the_embedded_samba_runs_at_the_server_priority_connection_children_included(raised):
    # the lab's own server above the probers, like the replica relay (harness.targets.local)
    from harness.clients.priority import SERVER_RT_PRIORITY
    from harness.lab.inns import call_in_netns
    from harness.targets.local import LocalSamba

    target = LocalSamba(raise_server_priority=raised)  # local:server-rt; the control: local
    with target:
        pids = [p.pid for p in target.procs]
        threads = call_in_netns(target.client_netns("healthy"), _session_and_server_sched,
                                target.endpoint, pids, timeout_s=30.0)
        assert target.server_sched == (f"SCHED_RR {SERVER_RT_PRIORITY}" if raised else "normal")
    smbd = [tid for tid, (comm, _, _) in threads.items() if comm == "smbd"]
    assert {"nmbd", "smbd"} <= {comm for comm, _, _ in threads.values()}
    assert len(smbd) >= 2, threads  # the daemon and the session's own process
    want = (os.SCHED_RR, SERVER_RT_PRIORITY) if raised else (os.SCHED_OTHER, 0)
    assert {tid: (policy, prio) for tid, (_, policy, prio) in threads.items()} == \
        dict.fromkeys(threads, want), threads
