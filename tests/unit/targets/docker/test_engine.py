"""The docker engine side of cleanup: which containers are provably this host's run's."""

import socket
import subprocess
import sys

from harness.lab import owner
from harness.targets.docker import config
from harness.targets.docker.engine import cleanup_stale


def test_a_container_without_this_hosts_label_or_an_owner_record_is_never_cleaned(tmp_path, monkeypatch):
    """cleanup_stale with the SDK's two calls stood in for: a dead owner's container with no
    host label was taken as this host's and removed."""
    monkeypatch.setattr(owner, "STATE_DIR", tmp_path / "owners")
    monkeypatch.setenv("NBT_HARNESS_STATE_DIR", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid()); "
                           "from harness.lab import owner; owner.register()"],
                          capture_output=True, text=True, check=False)
    pid = dead.stdout.split()[0]
    unrecorded = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                capture_output=True, text=True, check=True).stdout.strip()
    removed: list[str] = []

    class Container:
        def __init__(self, name, labels):
            self.name, self.labels = name, labels

        def remove(self, force=False):
            removed.append(self.name)

    host = {config.HOST_LABEL: socket.gethostname()}
    containers = [Container("ours-ended", {config.OWNER_LABEL: pid, **host}),
                  Container("no-host-label", {config.OWNER_LABEL: pid}),
                  Container("other-host", {config.OWNER_LABEL: pid, config.HOST_LABEL: "elsewhere"}),
                  Container("no-record", {config.OWNER_LABEL: unrecorded, **host})]
    client = type("Client", (), {"containers": type("C", (), {
        "list": staticmethod(lambda all=False, filters=None, ignore_removed=False: containers)})()})()
    assert cleanup_stale(client) == ["ours-ended"] and removed == ["ours-ended"]
