"""DockerSamba: the docker target as the runner sees it (a Target), composed of the engine,
the image, the container's lifecycle, its readiness and the view into its namespace (the
modules beside this one). See the package's docstring for what it does."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from harness.errors import BadInput, InfraError
from harness.lab.ss import parse_ss
from harness.targets.base import Endpoint, ServerSocket, Target
from harness.targets.docker import container as lifecycle
from harness.targets.docker.config import (
    CONTAINER_PORTS,
    CONTEXT_DIR,
    DEFAULT_NETBIOS_NAME,
    DEFAULT_SHARE,
    DEFAULT_SUITE,
    DEFAULT_USER,
    HEALTH_INTERVAL_S,
    HEALTH_TIMEOUT_S,
    LOG_TAIL_LINES,
    REPO_DIR,
    SERVER_TCP_RETRIES2,
    SERVER_VIEWS,
    SUITES,
    compose_project_name,
    image_tag_for,
)
from harness.targets.docker.engine import cleanup_stale, connect
from harness.targets.docker.image import build_image
from harness.targets.docker.readiness import check_ready, endpoints
from harness.targets.docker.server_view import NamespaceView, nsenter_possible

MAX_TCP_RETRIES2 = 15  # Linux's default: a silent peer is given up on after about 15 min


class DockerSamba(Target):
    """Samba in a docker container: found (compose service ``samba``) or started and owned."""

    name = "docker"
    kind = "docker"

    @classmethod
    def from_spec(cls, spec, hold_s=None, degrade_ms=None) -> DockerSamba:
        retries = spec.options.get("tcp_retries2", str(SERVER_TCP_RETRIES2))
        if not retries.isdigit() or not 1 <= int(retries) <= MAX_TCP_RETRIES2:
            raise BadInput(
                f"docker tcp_retries2={retries[:20]!r}: expected an integer from 1 "
                f"to {MAX_TCP_RETRIES2}"
            )
        return cls(suite=spec.variant or DEFAULT_SUITE, server_tcp_retries2=int(retries))

    def __init__(
        self,
        *,
        suite: str = DEFAULT_SUITE,
        use_existing: bool = True,
        compose_project: str | None = None,
        address: str = "bridge",
        host_ports: dict[str, int] | None = None,
        username: str = DEFAULT_USER,
        share: str = DEFAULT_SHARE,
        netbios_name: str = DEFAULT_NETBIOS_NAME,
        image_tag: str | None = None,
        context_dir: Path | str | None = None,
        health_timeout_s: float = HEALTH_TIMEOUT_S,
        health_interval_s: float = HEALTH_INTERVAL_S,
        server_view: str = "auto",
        server_tcp_retries2: int = SERVER_TCP_RETRIES2,
    ) -> None:
        """
        suite: the Debian suite the image is built from (a key of SUITES).
        use_existing: use a running container of the compose service (built for the same
            suite) if there is one.
        compose_project: its project label (default: $COMPOSE_PROJECT_NAME, else the repo
            directory's name, as docker-compose v1 derives it).
        address: "bridge" (container IP, standard ports) or "published" (127.0.0.1, host ports)
            for the clients' endpoint.
        host_ports: host ports to publish on 127.0.0.1, keys "ns", "nbt", "smb"; missing keys
            get a free port chosen by the engine. Only for a container this target starts.
        username, share, netbios_name: for a container this target starts (a found one is
            read from its environment). The password is always random for a started one.
        health_interval_s: docker healthcheck interval for a started container (each check is
            one NBSTAT and one smbclient session from inside the container).
        server_view: how commands reach the container's network namespace: "nsenter" (the
            host's binaries; root on the engine's host), "exec" (docker exec, the image's
            binaries; any user of the engine), or "auto" (nsenter where possible).
        server_tcp_retries2: the container's net.ipv4.tcp_retries2 (3: a blackholed client's
            session dies in about 3 s). Another value is only for a container this target
            starts: a found compose container (3, docker-compose.yml) is then not used.
        """
        if suite not in SUITES:
            raise ValueError(f"suite must be one of {', '.join(SUITES)}, not {suite!r}")
        if address not in ("bridge", "published"):
            raise ValueError(f"address must be 'bridge' or 'published', not {address!r}")
        if server_view not in SERVER_VIEWS:
            raise ValueError(
                f"server_view must be one of {', '.join(SERVER_VIEWS)}, not {server_view!r}"
            )
        unknown = set(host_ports or {}) - set(CONTAINER_PORTS)
        if unknown:
            raise ValueError(
                f"host_ports keys must be among {sorted(CONTAINER_PORTS)}: {sorted(unknown)}"
            )
        self.server_tcp_retries2 = server_tcp_retries2
        self.use_existing = use_existing and server_tcp_retries2 == SERVER_TCP_RETRIES2
        self.compose_project = (
            compose_project
            or os.environ.get("COMPOSE_PROJECT_NAME")
            or compose_project_name(REPO_DIR)
        )
        self.address = address
        self.server_view = server_view
        self.host_ports = dict(host_ports or {})
        self.suite = suite
        self.name = "docker" if suite == DEFAULT_SUITE else f"docker:{suite}"
        if server_tcp_retries2 != SERVER_TCP_RETRIES2:
            self.name = f"docker:{suite},tcp_retries2={server_tcp_retries2}"
        self.image_tag = image_tag or image_tag_for(suite)
        self.context_dir = Path(context_dir) if context_dir else CONTEXT_DIR
        self.health_timeout_s = health_timeout_s
        self.health_interval_s = health_interval_s
        self._account = lifecycle.Account(username, share, netbios_name)
        self._client = None
        self._container = None
        self._view: NamespaceView | None = None
        self._owned = False
        self._password = ""
        self._endpoint: Endpoint | None = None
        self._published: Endpoint | None = None
        self.timings: dict[str, float] = {}  # seconds: build_s, start_to_healthy_s, ready_s
        self._server_version: str | None = None

    # --- what the runner sees --------------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            raise InfraError("docker target not started")
        return self._endpoint

    @property
    def published_endpoint(self) -> Endpoint:
        """The same server through the ports published on 127.0.0.1 (for users; NATed)."""
        if self._published is None:
            raise InfraError("docker target not started")
        return self._published

    @property
    def container_name(self) -> str | None:
        return self._container.name if self._container is not None else None

    @property
    def owned(self) -> bool:
        """True when this target started the container (and so will remove it)."""
        return self._owned

    @property
    def server_pid(self) -> int:
        """Host pid of the container's init process (the entrypoint), for nsenter."""
        return self._require_view().pid()

    def describe(self) -> str:
        if self._endpoint is None:
            return f"{self.name}: not started"
        how = "started" if self._owned else "found"
        server = f", {self._server_version}" if self._server_version else ""
        return f"{self.name} ({how} {self.container_name}{server}): {self._endpoint.describe()}"

    def server_version(self) -> str | None:
        return self._server_version

    def server_tables(self) -> dict | None:
        return None if self._container is None else lifecycle.server_tables(self._container)

    def __repr__(self) -> str:
        host = self._endpoint.host if self._endpoint else None
        return (
            f"DockerSamba(container={self.container_name!r}, owned={self._owned}, "
            f"address={self.address!r}, host={host!r})"
        )

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._client = connect()
        cleanup_stale(self._client)
        found = (
            lifecycle.find_compose_container(self._client, self.compose_project, self.suite)
            if self.use_existing
            else None
        )
        t0 = time.monotonic()
        if found is not None:
            self._use(found, owned=False)
            self._account, self._password = lifecycle.read_credentials(found)
        else:
            build_s = build_image(self._client, self.suite, self.image_tag, self.context_dir)
            if build_s is not None:
                self.timings["build_s"] = build_s
            t0 = time.monotonic()
            self._password = secrets.token_urlsafe(18)
            self._use(
                lifecycle.create_container(
                    self._client,
                    self.image_tag,
                    self._account,
                    self.host_ports,
                    self.health_interval_s,
                    self.health_timeout_s,
                    self.server_tcp_retries2,
                ),
                owned=True,
            )  # stop() removes it
            lifecycle.start_container(self._container, self.image_tag, self._password)
        lifecycle.wait_healthy(self._container, self.health_timeout_s, self._redact, self.logs)
        self.timings["start_to_healthy_s"] = time.monotonic() - t0
        self._endpoint, self._published = endpoints(
            self._container, self._account, self._password, self.address
        )
        t1 = time.monotonic()
        check_ready(self._endpoint, self._published, self.container_name)
        self.timings["ready_s"] = time.monotonic() - t1
        self._server_version = lifecycle.server_version(self._container)

    def _use(self, container, owned: bool) -> None:
        self._container, self._owned = container, owned
        self._view = NamespaceView(container)

    def stop(self) -> None:
        container, self._container = self._container, None
        if container is not None and self._owned:
            lifecycle.remove_container(container)
        self._owned = False
        if self._view:
            self._view.close()
            self._view = None
        self._endpoint = self._published = None
        self._server_version = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- evidence ---------------------------------------------------------------------------

    def client_netns(self, role: str) -> str | None:
        return None  # clients run in the harness's own namespace and reach the bridge IP

    def server_sockets(self) -> list[ServerSocket] | None:
        if self._container is None:
            return None
        if self._use_nsenter():  # root on the engine's host: sock_diag inside, no process
            return self._require_view().tcp_table().rows()
        return parse_ss(self.server_sh("ss", "-tainH"))

    def server_flow(self, local: str, peer: str) -> list[ServerSocket] | None:
        if self._container is None or not self._use_nsenter():
            return super().server_flow(local, peer)
        row = self._require_view().tcp_table().lookup(local, peer)
        return [row] if row else []

    def _use_nsenter(self) -> bool:
        if self.server_view != "auto":
            return self.server_view == "nsenter"
        return nsenter_possible(self._client)

    def server_sh(self, *argv: str, timeout_s: float = 10.0) -> str:
        """Run argv in the container's network namespace; return stdout (InfraError on failure).

        Uses the host's binaries through nsenter when root on the engine's host, else
        ``docker exec`` (the image has ss, ip and iptables).
        """
        view = self._require_view()
        return view.sh(argv, self._use_nsenter(), timeout_s)

    def logs(self, tail: int = LOG_TAIL_LINES) -> str:
        if self._container is None:
            return ""
        return self._redact(lifecycle.container_logs(self._container, tail))

    # --- internals --------------------------------------------------------------------------

    def _require_view(self) -> NamespaceView:
        if self._container is None or self._view is None:
            raise InfraError("docker target not started")
        return self._view

    def _redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text
