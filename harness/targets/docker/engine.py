"""The docker engine: connecting to it, what its SDK raises, and removing the containers of
dead harness processes (``cleanup_stale``)."""

from __future__ import annotations

import socket

from harness.errors import InfraError, TargetUnavailable
from harness.targets.docker.config import API_TIMEOUT_S, ENGINE_TIMEOUT_S, HOST_LABEL, OWNER_LABEL


def connect(timeout_s: float = ENGINE_TIMEOUT_S):
    """A docker SDK client for the engine of the environment (DOCKER_HOST or the local socket).

    Raises TargetUnavailable("no docker engine reachable: ...") when none answers within timeout_s.
    """
    try:
        import docker
    except ImportError as exc:
        raise TargetUnavailable(
            "no docker engine reachable: the docker Python SDK is not installed"
        ) from exc
    try:
        client = docker.from_env(timeout=max(1, round(timeout_s)))
        client.ping()
    except docker_errors() as exc:
        raise TargetUnavailable(f"no docker engine reachable: {one_line(exc)}") from exc
    client.api.timeout = API_TIMEOUT_S
    return client


def docker_errors() -> tuple[type[BaseException], ...]:
    """What a docker SDK call raises: API and SDK errors, and the transport's (requests)."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    return (DockerException, RequestException, OSError)


def gone(exc: BaseException) -> bool:
    """A removal error that means the container is gone or going anyway."""
    return "No such container" in str(exc) or "already in progress" in str(exc)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def engine_is_local(client) -> bool:
    """The engine runs on this host (its socket), so its containers' pids are ours to see."""
    base_url = getattr(client.api, "base_url", "") if client else ""
    return "docker.sock" in base_url or base_url.startswith("http+docker://local")


def provably_ours(labels: dict, include_live: bool = False) -> bool:
    """A container whose labels name this host and an owner whose record (harness.lab.owner)
    proves it this host's harness run, ended (or, with include_live, running). No host label,
    another host's, or an owner without a record: not ours to remove."""
    from harness.lab import owner

    try:
        pid = int(labels.get(OWNER_LABEL, ""))
    except ValueError:
        return False
    if labels.get(HOST_LABEL) != socket.gethostname():
        return False
    state, _why = owner.judge(pid)
    return state == owner.DEAD or (include_live and state == owner.LIVE)


def cleanup_stale(client=None, include_live: bool = False) -> list[str]:
    """Remove containers labelled ``nbt-harness.owner=<pid>`` (from this host) whose pid is dead
    (with include_live: whether or not it lives). Compose containers are never touched.

    Returns the names removed. With no engine reachable there is nothing to clean: returns [].
    """
    if client is None:
        try:
            client = connect()
        except InfraError:
            return []
    removed = []
    try:  # another run's container removed between the listing and its inspection: not listed
        listed = client.containers.list(
            all=True, filters={"label": OWNER_LABEL}, ignore_removed=True
        )
    except docker_errors() as exc:
        raise InfraError(f"cannot list containers: {one_line(exc)}") from exc
    for container in listed:
        if not provably_ours(container.labels or {}, include_live):
            continue
        try:
            container.remove(force=True)
            removed.append(container.name)
        except docker_errors() as exc:
            if not gone(exc):
                raise InfraError(
                    f"cannot remove stale container {container.name}: {one_line(exc)}"
                ) from exc
    return removed
