"""The stand-alone replica (`python -m harness.replica`) in front of a lab's Samba, for the
tests that put it in front of a server given as a URL."""

from __future__ import annotations

import contextlib
import selectors
import subprocess
import sys


@contextlib.contextmanager
def standalone_replica(server_netns: str, *options: str):
    """The replica on the lab's second address, relaying to its Samba, started in the
    server's namespace with ``options`` (``--trigger any``, ``--hold create``, ...); yields
    once it listens (it prints its ports), and is stopped on the way out."""
    from harness.lab.netns import SERVER_ADDR, SERVER_ALIAS_ADDR

    relay = subprocess.Popen(
        ["ip", "netns", "exec", server_netns, sys.executable, "-m", "harness.replica",
         "--listen", SERVER_ALIAS_ADDR, "--upstream", SERVER_ADDR, *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(relay.stdout, selectors.EVENT_READ)
            assert sel.select(10), "the replica printed nothing within 10 s"
        assert "139" in relay.stdout.readline()
        yield relay
    finally:
        relay.terminate()
        relay.wait(10)
