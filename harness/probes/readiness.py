"""Is the server really up? An NBSTAT answer and a positive NBT session response."""

from __future__ import annotations

from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.server import Endpoint


def server_ready(endpoint: Endpoint, timeout_s: float = 1.0) -> tuple[bool, str]:
    try:
        node_status(endpoint.host, endpoint.ns_port, timeout_s)
    except Exception as exc:  # noqa: BLE001 not ready, whatever the cause; the cause is shown
        return False, f"NBSTAT: {exc}"
    try:
        request_session(
            endpoint.host, endpoint.nbt_port, endpoint.netbios_name, "NBTHREADY", timeout_s
        )
    except Exception as exc:  # noqa: BLE001 not ready, whatever the cause; the cause is shown
        return False, f"NBT session request: {exc}"
    return True, "ready"
