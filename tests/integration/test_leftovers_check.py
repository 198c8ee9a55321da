"""The machine check of the benchmarks (tests/benchmarks/leftovers.py) against real leftovers:
it finds each kind the harness can leave, removes those of one owner pid and nothing else."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.lab import netns
from tests.benchmarks import leftovers as m

pytestmark = pytest.mark.integration

# matches nothing on this machine: a lab address is never routed from the root namespace
RULE = ["OUTPUT", "-d", "10.213.0.254/32", "-p", "tcp", "--dport", "9"]


def test_scan_finds_every_kind_and_remove_takes_only_the_owners():
    # An owner that is alive (no other run's stale-cleanup touches these meanwhile) and is
    # not this pytest process, whose own targets (the plugin's) carry its pid too.
    owner_proc = subprocess.Popen(["sleep", "120"])
    owner = owner_proc.pid
    marker = "NBTH_TEST_MARK=leftovers-check"
    ns = f"nbth-{owner}-chk"
    tmp = Path(tempfile.mkdtemp(prefix=f"nbth-{owner}-chk-"))
    procs = []
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)  # another run's owner
    other_dir = Path(tempfile.mkdtemp(prefix=f"nbth-{other.pid}-chk-"))
    tag = ["-m", "comment", "--comment", f"nbth-{owner}-cut", "-j", "DROP"]
    try:
        (tmp / "share").mkdir()
        (tmp / "share" / "nbth-c1-1.dat").write_bytes(b"x")
        netns.sh("ip", "netns", "add", ns)
        subprocess.run(["iptables", "-w", "5", "-I", *RULE, *tag], check=True, timeout=10)
        procs.append(subprocess.Popen(["sleep", "60"], start_new_session=True,
                                      env=dict(os.environ, NBTH_TEST_MARK="leftovers-check")))
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "61"],
                                      start_new_session=True))
        assert m.scan(other.pid + 10**7, "NBTH_TEST_MARK=other", docker=False) == []

        def found():
            return m.scan(owner, marker, docker=False)

        left = found()
        by_kind = {k: [x for x in left if x.kind == k] for k in
                   ("netns", "process", "iptables", "tempdir", "share_file")}
        assert [x.key for x in by_kind["netns"]] == [ns]
        assert {int(x.key) for x in by_kind["process"]} == {p.pid for p in procs}
        assert len(by_kind["iptables"]) == 1 and f"nbth-{owner}-cut" in by_kind["iptables"][0].key
        assert [x.key for x in by_kind["tempdir"]] == [str(tmp)]
        assert [Path(x.key).name for x in by_kind["share_file"]] == ["nbth-c1-1.dat"]

        m.remove(left, owner, marker)
        for p in procs:
            p.wait(timeout=10)
        assert found() == []
        assert other.poll() is None and other_dir.is_dir()  # another owner's: untouched
    finally:
        for p in procs + [other, owner_proc]:
            p.kill()
            p.wait(timeout=10)
        netns.delete_netns(ns)
        subprocess.run(["iptables", "-w", "5", "-D", *RULE, *tag], capture_output=True,
                       timeout=10, check=False)
        for d in (tmp, other_dir):
            subprocess.run(["rm", "-rf", str(d)], check=False, timeout=10)
