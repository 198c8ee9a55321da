import os
import shutil
import time
from pathlib import Path

import pytest

# Short phases for the suite (4 s in all, was 7.5 s): the suite runs about 50 scenarios, and
# their phases were most of CI's time. What each phase must hold, at the default rates: a
# sample of every probe (smb_rw, the slowest, 4 Hz per client), and in the fault phase the
# drop with its evidence and the replica's whole 1 s freeze (it starts at the drop), judged
# there by every stalled probe (nbstat 20 Hz, smb_echo and nbt_session 10 Hz). Drops whose
# effect comes later (a server or relay timing out 3 s after a cut) set longer phases.
FAST = {"phases.warmup_s": 0.5, "phases.baseline_s": 1.0, "phases.fault_s": 1.5,
        "phases.recovery_s": 1.0}
FAST_DROP_AT_S = FAST["phases.warmup_s"] + FAST["phases.baseline_s"]
# Options of every pytest the tests start: hypothesis's plugin (installed for the fuzz tests)
# imports hypothesis at start, 0.7 s of CPU per pytest process (and per xdist worker), and
# none of these inner runs uses it.
CHILD_PYTEST = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]

DROP_MODES = ["rst", "fin", "kill", "halfframe", "stall", "pause"]


def pytest_collection_modifyitems(config, items):
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    if not shutil.which("smbd") or not shutil.which("nmbd"):
        missing.append("Debian's samba (smbd, nmbd)")
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"integration tests need {' and '.join(missing)}")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fast():
    return dict(FAST)


def wait_for(condition, what, timeout_s=30.0):
    """Poll ``condition`` until it returns something true; AssertionError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def wait_for_victim_host(pid, proc=None):
    """The victim host namespace of the harness process ``pid``, once it exists; if ``proc``
    (that process) exits first, fail at once with what it printed."""
    from harness.lab import netns

    def victim_host():
        name = next((n for n in netns.list_netns()
                     if n.startswith(f"nbth-{pid}-") and n.endswith("-victim")), None)
        if name is None and proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process {pid} exited ({proc.returncode}) before its victim "
                                 f"host existed: {(err or out or b'').decode(errors='replace')[-600:]}")
        return name

    return wait_for(victim_host, f"the victim host of process {pid}")


def iptables_rules(ns):
    from harness.lab import netns

    return netns.sh("iptables", "-S", netns=ns, check=False)


@pytest.fixture(scope="session")
def watched_run(request, nbt_run):
    """``nbt_run`` under a ForkWatch, once per (scenario, target, overrides) in the session:
    returns (entry, history events, forks seen, pids of the target's own server processes).

    A run that one test judges (the drop passes, with evidence) is the run another test
    checks for processes spawned while it was judged (test_no_spawn): one run serves both,
    whichever test comes first. The target is started before the watch begins, as a module
    fixture would have been; the history is read at once (a later run of the same scenario
    on the same target writes the same file)."""
    from harness.history import read_events
    from harness.plugin import SETTINGS_KEY, TARGETS_KEY
    from tests.forkwatch import ForkWatch

    cache: dict = {}

    def run(name: str, target: str, overrides: dict):
        key = (name, target, tuple(sorted(overrides.items())))
        if key not in cache:
            settings = request.config.stash[SETTINGS_KEY]
            started = request.config.stash[TARGETS_KEY].get(target, settings.hold_s,
                                                              settings.degrade_ms)
            watch = ForkWatch()
            try:
                entry = nbt_run(name, target=target, overrides=overrides)
            finally:
                forks = watch.stop()
            history = list(read_events(Path(entry["history"])))
            server = {p.pid for p in getattr(started, "procs", [])}
            cache[key] = (entry, history, forks, server)
        return cache[key]

    return run
