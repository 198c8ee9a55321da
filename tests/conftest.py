import os
import shutil
import time

import pytest

# Short phases for the suite: long enough for >= 20 samples of every probe in every phase.
FAST = {"phases.warmup_s": 0.5, "phases.baseline_s": 2.0, "phases.fault_s": 3.0,
        "phases.recovery_s": 2.0}

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
