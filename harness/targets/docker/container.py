"""The Samba container's lifecycle: find the compose service's container or create, start
and remove one of our own; its password file, its credentials, its health, logs and version.

The password never enters a container's environment (``docker inspect`` shows it, and every
``docker exec`` inherits it): it is copied into the created container as a 0600 file before
the container starts (``secret_tar``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import socket
import tarfile
import time
from dataclasses import dataclass

from harness.errors import InfraError
from harness.targets.docker.config import (
    COMPOSE_SERVICE,
    CONTAINER_PORTS,
    DEFAULT_NETBIOS_NAME,
    DEFAULT_PASSWORD,
    DEFAULT_SHARE,
    DEFAULT_SUITE,
    DEFAULT_USER,
    HEALTH_RECHECK_S,
    HOST_LABEL,
    NAME_PREFIX,
    OWNER_LABEL,
    PASSWORD_FILE,
    SCRATCH_TMPFS,
    SERVER_TCP_RETRIES2,
    STOP_GRACE_S,
    SUITE_LABEL,
)
from harness.targets.docker.engine import docker_errors, gone, one_line


@dataclass(frozen=True)
class Account:
    """Who the clients log on as, and where (the password is kept apart, never in a repr)."""

    user: str = DEFAULT_USER
    share: str = DEFAULT_SHARE
    netbios_name: str = DEFAULT_NETBIOS_NAME


def secret_tar(path: str, secret: str) -> bytes:
    """A tar archive holding ``path`` (mode 0600, root) with ``secret``, its directory 0700."""
    buf = io.BytesIO()
    data = secret.encode()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        directory = tarfile.TarInfo(os.path.dirname(path).lstrip("/"))
        directory.type, directory.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(directory)
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def find_compose_container(client, project: str, suite: str):
    """A running container of the compose service ``samba`` built for ``suite``, or None."""
    labels = [
        f"com.docker.compose.service={COMPOSE_SERVICE}",
        f"com.docker.compose.project={project}",
    ]
    try:  # a container removed between the listing and its inspection: not listed
        running = client.containers.list(
            filters={"label": labels, "status": "running"}, ignore_removed=True
        )
    except docker_errors() as exc:
        raise InfraError(f"cannot list containers: {one_line(exc)}") from exc
    # Images built before the suite label existed are bookworm's.
    running = [
        c
        for c in running
        if c.labels.get("com.docker.compose.oneoff") != "True"
        and c.labels.get(SUITE_LABEL, DEFAULT_SUITE) == suite
    ]
    return min(running, key=lambda c: c.name) if running else None


def read_credentials(container) -> tuple[Account, str]:
    """The account and password a found container was started with (its environment and its
    password file; the entrypoint's defaults for what it does not set)."""
    env = dict(e.split("=", 1) for e in container.attrs["Config"].get("Env") or [] if "=" in e)
    account = Account(
        user=env.get("SAMBA_USER") or DEFAULT_USER,
        share=env.get("SAMBA_SHARE") or DEFAULT_SHARE,
        netbios_name=env.get("SAMBA_NETBIOS_NAME") or DEFAULT_NETBIOS_NAME,
    )
    password = read_container_file(container, env.get("SAMBA_PASSWORD_FILE") or PASSWORD_FILE)
    # An old-style container may still carry SAMBA_PASSWORD in its environment.
    return account, (
        (password.rstrip("\r\n") if password is not None else None)
        or env.get("SAMBA_PASSWORD")
        or DEFAULT_PASSWORD
    )


def read_container_file(container, path: str) -> str | None:
    """The text of one file inside the container (through the engine's archive API), or None."""
    try:
        stream, _ = container.get_archive(path)
        data = b"".join(stream)
    except docker_errors():
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next((m for m in tar.getmembers() if m.isfile()), None)
        handle = tar.extractfile(member) if member else None
        return handle.read().decode(errors="replace") if handle else None


def create_container(
    client,
    image_tag: str,
    account: Account,
    host_ports: dict[str, int],
    health_interval_s: float,
    health_timeout_s: float,
    tcp_retries2: int = SERVER_TCP_RETRIES2,
):
    """Create ``nbth-<pid>-samba-<hex>`` (labelled with its owner), give it its password file;
    return it not yet started: whoever gets it removes it (``remove``), started or not."""
    from harness.lab import owner

    owner.register()  # cleanup can prove the container this run's by its owner label
    pid = os.getpid()
    name = f"{NAME_PREFIX}{pid}-samba-{secrets.token_hex(3)}"
    ports = {CONTAINER_PORTS[key]: ("127.0.0.1", host_ports.get(key)) for key in CONTAINER_PORTS}
    try:
        # Created, given its password file, then started: the password never enters the
        # container's environment (docker inspect, every docker exec).
        container = client.containers.create(
            image_tag,
            detach=True,
            name=name,
            labels={OWNER_LABEL: str(pid), HOST_LABEL: socket.gethostname()},
            environment={
                "SAMBA_USER": account.user,
                "SAMBA_PASSWORD_FILE": PASSWORD_FILE,
                "SAMBA_SHARE": account.share,
                "SAMBA_NETBIOS_NAME": account.netbios_name,
                "SAMBA_HEALTH_RECHECK_S": str(HEALTH_RECHECK_S),
            },
            ports=ports,
            cap_add=["NET_ADMIN"],
            tmpfs=dict(SCRATCH_TMPFS),
            # As on the embedded target: the server's TCP gives up on a silent peer in
            # about 3 s, so a blackholed victim's session dies inside the scenario (unless a
            # target asks for another value: docker:SUITE,tcp_retries2=15 is Linux's default).
            sysctls={"net.ipv4.tcp_retries2": str(tcp_retries2)},
            healthcheck={
                "test": ["CMD", "/usr/local/bin/healthcheck.sh"],
                "interval": int(health_interval_s * 1e9),
                "timeout": int(10e9),
                "retries": 3,
                "start_period": int(health_timeout_s * 1e9),
            },
        )
    except docker_errors() as exc:
        raise InfraError(f"cannot create container from {image_tag}: {one_line(exc)}") from exc
    return container


def start_container(container, image_tag: str, password: str) -> None:
    try:
        container.put_archive("/", secret_tar(PASSWORD_FILE, password))
        container.start()
    except docker_errors() as exc:
        raise InfraError(f"cannot start container from {image_tag}: {one_line(exc)}") from exc


def remove_container(container) -> None:
    """SIGTERM first (the entrypoint stops both daemons), then remove(force) decides anyway."""
    with contextlib.suppress(*docker_errors()):
        container.stop(timeout=STOP_GRACE_S)
    try:
        container.remove(force=True)
    except docker_errors() as exc:
        if not gone(exc):
            raise InfraError(f"cannot remove container {container.name}: {one_line(exc)}") from exc


def wait_healthy(container, timeout_s: float, redact, logs) -> None:
    """Until docker reports the container healthy (or it has no healthcheck); InfraError when
    it stops, turns unhealthy or is not healthy within timeout_s. ``redact(text)`` hides the
    password in what is reported; ``logs(lines)`` gives its last log lines."""
    deadline = time.monotonic() + timeout_s
    last = "no health report yet"
    while True:
        container.reload()
        state = container.attrs["State"]
        if state.get("Status") != "running":
            raise InfraError(
                f"container {container.name} is {state.get('Status')} "
                f"(exit {state.get('ExitCode')}): {logs(20)[-400:]!r}"
            )
        health = state.get("Health")
        if health is None:
            break  # no healthcheck configured (a user's own image): our checks decide
        if health.get("Log"):
            last = redact(str(health["Log"][-1].get("Output", "")).strip())
        if health.get("Status") == "healthy":
            break
        if health.get("Status") == "unhealthy":
            raise InfraError(f"container {container.name} is unhealthy: {last}")
        if time.monotonic() >= deadline:
            raise InfraError(
                f"container {container.name} not healthy after {timeout_s:.0f}s: {last}"
            )
        time.sleep(0.1)


def container_logs(container, tail: int) -> str:
    try:
        return container.logs(tail=tail).decode(errors="replace")
    except docker_errors() as exc:
        return f"(container logs unavailable: {one_line(exc)})"


def server_version(container) -> str | None:
    """'Samba 4.17.12-Debian' from ``smbd --version`` inside the container, or None."""
    try:
        result = container.exec_run(["smbd", "--version"], stdout=True, stderr=False)
    except docker_errors():
        return None
    text = (result.output or b"").decode(errors="replace").strip()
    if result.exit_code != 0 or not text.startswith("Version "):
        return None
    return "Samba " + text.removeprefix("Version ").split()[0]


def server_tables(container) -> dict | None:
    """``smbstatus --json --byterange`` inside the container, parsed; None when it fails."""
    try:
        result = container.exec_run(
            ["smbstatus", "--json", "--byterange", "--fast"], stdout=True, stderr=False
        )
    except docker_errors():
        return None
    try:
        doc = json.loads(result.output or b"") if result.exit_code == 0 else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
