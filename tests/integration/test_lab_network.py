"""The lab network itself: hosts plugged in later never disturb the hosts already talking."""

import socket

import pytest

from harness.lab import netns
from harness.lab.inns import call_in_netns

pytestmark = pytest.mark.integration
CLOSED_PORT = 9  # nothing listens: a reset back proves the path to the server works


def _reach_server() -> str:
    try:
        socket.create_connection((netns.SERVER_ADDR, CLOSED_PORT), timeout=2).close()
        return "connected"
    except ConnectionRefusedError:
        return "refused"  # the server's kernel answered
    except OSError as exc:
        return type(exc).__name__


def _server_mac(lab: netns.Lab) -> str:
    return netns.sh("ip", "-n", lab.server_netns, "-br", "link", "show", "br0").split()[2]


def test_adding_hosts_keeps_the_server_mac_so_existing_hosts_still_connect():
    lab = netns.Lab()
    lab.create()
    try:
        healthy = lab.add_host("healthy")
        assert call_in_netns(healthy.netns, _reach_server, timeout_s=5) == "refused"
        for n in range(6):  # each new port has a random MAC; a bridge would take the lowest
            lab.add_host(f"late{n}")
            assert call_in_netns(healthy.netns, _reach_server, timeout_s=5) == "refused"
            assert _server_mac(lab) == netns.BRIDGE_MAC
    finally:
        lab.destroy()
    assert not [n for n in netns.list_netns() if n.startswith(lab.prefix)]
