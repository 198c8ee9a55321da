"""The harness starts no process while it measures: the server's TCP table comes through
sock_diag in-process, not from ``ss`` forked every 50 ms (on 2 cores a fork storm is noise
in what is measured). Forks are seen by the kernel's proc connector, not by the harness.

The runs are those of test_embedded_drops (the same scenario, target and phases), watched
once for both (tests/conftest.py ``watched_run``)."""

import os

import pytest

from tests.conftest import FAST
from tests.support.forkwatch import spawned_while_judged

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["rst", "halfframe", "stall"])
def test_no_process_is_spawned_in_the_judged_phases(watched_run, mode):
    entry, history, forks, server = watched_run(mode, "local", FAST)
    assert entry["verdict"] == "pass", entry["reason"]
    assert entry["drop"]["evidence"], entry["drop"]
    # smbd forks a child per connection: that is the server, not the harness
    spawned = spawned_while_judged(history, forks, os.getpid(), exclude=server)
    assert spawned == [], spawned
    assert any(f.is_process for f in forks)  # the watch sees forks at all (the clients')
