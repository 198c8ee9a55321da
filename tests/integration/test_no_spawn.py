"""The harness starts no process while it measures: the server's TCP table comes through
sock_diag in-process, not from ``ss`` forked every 50 ms (on 2 cores a fork storm is noise
in what is measured). Forks are seen by the kernel's proc connector, not by the harness."""

import os

import pytest

from harness.history import read_events
from harness.runner import run_scenario
from harness.scenario import resolve
from harness.targets.local import LocalSamba
from tests.conftest import FAST
from tests.forkwatch import ForkWatch, spawned_while_judged

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def samba():
    with LocalSamba() as target:
        yield target


@pytest.mark.parametrize("mode", ["rst", "halfframe", "stall"])
def test_no_process_is_spawned_in_the_judged_phases(samba, mode, tmp_path):
    scenario = resolve([mode])[0].with_overrides(FAST)
    watch = ForkWatch()
    try:
        result = run_scenario(scenario, samba, tmp_path / mode)
    finally:
        forks = watch.stop()
    assert result["verdict"] == "pass", result["reason"]
    assert result["drop"]["evidence"], result["drop"]
    history = list(read_events(tmp_path / mode / "history.jsonl"))
    # smbd forks a child per connection: that is the server, not the harness
    server = {p.pid for p in samba.procs}
    spawned = spawned_while_judged(history, forks, os.getpid(), exclude=server)
    assert spawned == [], spawned
    assert any(f.is_process for f in forks)  # the watch sees forks at all (the clients')

