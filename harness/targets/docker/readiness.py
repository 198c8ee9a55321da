"""Where the clients reach the container, and whether it serves: its endpoints (the bridge
address with the standard ports, and the ports published on 127.0.0.1) read from the engine,
then NBSTAT and NBT session requests answered on them, with a deadline."""

from __future__ import annotations

import time

from harness.errors import InfraError
from harness.packets import nbt
from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.targets.base import Endpoint
from harness.targets.docker.config import (
    CALLING_NAME,
    CONTAINER_PORTS,
    NBT_PORT,
    NS_PORT,
    PROBE_TIMEOUT_S,
    READY_TIMEOUT_S,
    SMB_PORT,
)
from harness.targets.docker.container import Account
from harness.targets.docker.engine import one_line


def endpoints(
    container, account: Account, password: str, address: str
) -> tuple[Endpoint, Endpoint]:
    """(the clients' endpoint, the published one) of a running container. ``address``
    "bridge": the container's IP on its bridge, standard ports; "published": 127.0.0.1."""
    container.reload()
    settings = container.attrs["NetworkSettings"]
    bridge_ip = settings.get("IPAddress") or next(
        (
            n.get("IPAddress")
            for n in (settings.get("Networks") or {}).values()
            if n.get("IPAddress")
        ),
        "",
    )
    published = {}
    for key, container_port in CONTAINER_PORTS.items():
        bindings = (settings.get("Ports") or {}).get(container_port) or []
        ports = [
            int(b["HostPort"])
            for b in bindings
            if b.get("HostPort") and b.get("HostIp") in ("127.0.0.1", "0.0.0.0", "")
        ]
        published[key] = ports[0] if ports else 0
    common = {
        "netbios_name": account.netbios_name,
        "share": account.share,
        "username": account.user,
        "password": password,
    }
    pub = Endpoint(
        host="127.0.0.1",
        nbt_port=published["nbt"],
        smb_port=published["smb"],
        ns_port=published["ns"],
        **common,
    )
    if address == "bridge":
        if not bridge_ip:
            raise InfraError(
                f"container {container.name} has no bridge IP address (use address='published')"
            )
        return Endpoint(
            host=bridge_ip, nbt_port=NBT_PORT, smb_port=SMB_PORT, ns_port=NS_PORT, **common
        ), pub
    if not published["nbt"]:
        raise InfraError(f"container {container.name} publishes no 139/tcp port")
    return pub, pub


def check_ready(ep: Endpoint, pub: Endpoint, container_name: str | None) -> None:
    """NBSTAT answered on the clients' endpoint, and NBT session requests answered 0x82
    both there and on the published 127.0.0.1 port (bounded)."""
    checks = []
    if ep.host != "127.0.0.1":
        checks.append(("NBSTAT", ep.host, ep.ns_port))
    checks.append(("SESSION", ep.host, ep.nbt_port))
    if pub.nbt_port and (pub.host, pub.nbt_port) != (ep.host, ep.nbt_port):
        checks.append(("SESSION", pub.host, pub.nbt_port))
    deadline = time.monotonic() + READY_TIMEOUT_S
    for kind, host, port in checks:
        while True:
            try:
                if kind == "NBSTAT":
                    status = node_status(host, port, PROBE_TIMEOUT_S)
                    names = {n.name.upper() for n in status.names}
                    if ep.netbios_name.upper() in names:
                        break
                    last = f"NBSTAT from {host}:{port} lacks {ep.netbios_name}: {sorted(names)}"
                else:  # raises ConnectionError (an OSError) on a negative response
                    request_session(host, port, ep.netbios_name, CALLING_NAME, PROBE_TIMEOUT_S)
                    break
            except (OSError, nbt.MalformedPacket) as exc:
                last = f"{kind} to {host}:{port}: {one_line(exc)}"
            if time.monotonic() >= deadline:
                raise InfraError(
                    f"container {container_name} healthy but not ready "
                    f"after {READY_TIMEOUT_S:.0f}s: {last}"
                )
            time.sleep(0.1)
