"""The docker target: Debian's Samba (docker/samba) in a container, driven by the docker SDK.

Which Samba: the image is built for a Debian suite (``SUITES``): bookworm (Samba 4.17, the
default) or trixie (Samba 4.22), from the local base image ``debian:<suite>-slim`` that
``.ci/docker-setup <suite>`` makes with debootstrap; the image is ``nbt-harness/samba:<suite>``
and carries the label ``nbt-harness.suite``.

Which container: a running container of the compose service ``samba`` (``docker-compose up
-d`` in the repo, found by its compose labels) built for the same suite is used as it is and
never stopped. Otherwise the harness builds ``nbt-harness/samba:<suite>`` from docker/samba
(cached) and runs its own container ``nbth-<pid>-samba-<hex>``, labelled
``nbt-harness.owner=<pid>``, with a random password, and removes it on stop().
``cleanup_stale()`` removes such containers whose owner process is dead.

The password is never in the container's environment (``docker inspect`` shows the
environment, and every ``docker exec`` inherits it): the harness copies it into the created
container as ``/run/secrets/samba_password`` (mode 0600) before starting it; the entrypoint
reads the file (``SAMBA_PASSWORD_FILE``). Compose bind-mounts a file the same way.

Which address clients use: the container's IP on its docker bridge, with the standard ports
137/udp, 139 and 445. The bridge is routed from the host, not NATed, so smbd sees each client's
true address and port, and the victim's connection can be found in the server's TCP table
(``server_sockets()``). The ports published on 127.0.0.1 (docker-proxy: smbd sees the bridge
gateway as the peer of every connection, and impacket's NBSTAT cannot use a port other than
137) are for users; ``published_endpoint`` describes them. ``address="published"`` makes them
the clients' endpoint instead, for a harness that cannot reach the bridge.

Server-side evidence: ``ss -tainH`` run in the container's network namespace with nsenter
(root on the engine's host), else with ``docker exec``. The container has NET_ADMIN and
iptables, so ``server_sh("iptables", ...)`` can cut one flow inside it.

The password is kept out of every repr, message and log this module produces.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from harness.errors import InfraError, TargetUnavailable
from harness.lab.netns import pid_alive
from harness.lab.sockdiag import TcpTable
from harness.lab.ss import parse_ss
from harness.packets import nbt
from harness.paths import shipped
from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.targets.base import Endpoint, ServerSocket, Target

# Debian suite -> the Samba it ships (major.minor); the first is the default.
SUITES = {"bookworm": "4.17", "trixie": "4.22"}
DEFAULT_SUITE = "bookworm"
IMAGE_REPO = "nbt-harness/samba"
SUITE_LABEL = "nbt-harness.suite"  # set by docker/samba/Dockerfile from its SUITE build arg
PASSWORD_FILE = "/run/secrets/samba_password"  # docker/samba/entrypoint.sh reads it


def image_tag_for(suite: str) -> str:
    return f"{IMAGE_REPO}:{suite}"


def base_image(suite: str) -> str:
    """The local base image for a suite, made by .ci/docker-setup; never pulled."""
    return f"debian:{suite}-slim"


IMAGE_TAG = image_tag_for(DEFAULT_SUITE)
BASE_IMAGE = base_image(DEFAULT_SUITE)
CONTEXT_DIR = shipped("docker") / "samba"  # the checkout's docker/samba, or the wheel's copy
REPO_DIR = Path(__file__).resolve().parents[2]
COMPOSE_SERVICE = "samba"
OWNER_LABEL = "nbt-harness.owner"  # pid of the harness process that started the container
HOST_LABEL = "nbt-harness.host"  # its hostname: only the same host can tell if that pid lives
NAME_PREFIX = "nbth-"

# Defaults of docker/samba/entrypoint.sh and docker-compose.yml (a found container may not set
# them in its environment).
DEFAULT_USER = "nbtuser"
DEFAULT_PASSWORD = "nbt-harness-lab"
DEFAULT_SHARE = "share"
DEFAULT_NETBIOS_NAME = "NBTHDOCKER"
CALLING_NAME = "NBTHPROBE"

NS_PORT, NBT_PORT, SMB_PORT = 137, 139, 445
CONTAINER_PORTS = {"ns": f"{NS_PORT}/udp", "nbt": f"{NBT_PORT}/tcp", "smb": f"{SMB_PORT}/tcp"}

ENGINE_TIMEOUT_S = 5.0  # connecting to the engine
API_TIMEOUT_S = 30.0  # each later API call
BUILD_TIMEOUT_S = 900.0  # a cold build runs apt-get install samba
HEALTH_TIMEOUT_S = 60.0
HEALTH_INTERVAL_S = 1.0  # docker runs the first check one interval after start
# After a full healthcheck passed, healthcheck.sh reports healthy without a new one for this
# long: a full check every second would cost the server under test ~10 % of a core.
HEALTH_RECHECK_S = 30
READY_TIMEOUT_S = 15.0  # the harness's own checks, after docker reports healthy
PROBE_TIMEOUT_S = 1.0
STOP_GRACE_S = 5
LOG_TAIL_LINES = 200
SERVER_VIEWS = ("auto", "nsenter", "exec")  # how server_sh reaches the container namespace
SERVER_TCP_RETRIES2 = 3


def _compose_project_name(directory: Path) -> str:
    """docker-compose v1's default project name: the directory's basename, normalized."""
    return re.sub(r"[^-_a-z0-9]", "", directory.name.lower())


def connect(timeout_s: float = ENGINE_TIMEOUT_S):
    """A docker SDK client for the engine of the environment (DOCKER_HOST or the local socket).

    Raises TargetUnavailable("no docker engine reachable: ...") when none answers within timeout_s.
    """
    try:
        import docker
    except ImportError as exc:
        raise TargetUnavailable("no docker engine reachable: the docker Python SDK is not installed") from exc
    try:
        client = docker.from_env(timeout=max(1, round(timeout_s)))
        client.ping()
    except _docker_errors() as exc:
        raise TargetUnavailable(f"no docker engine reachable: {_one_line(exc)}") from exc
    client.api.timeout = API_TIMEOUT_S
    return client


def _docker_errors() -> tuple[type[BaseException], ...]:
    """What a docker SDK call raises: API and SDK errors, and the transport's (requests)."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    return (DockerException, RequestException, OSError)


def _gone(exc: BaseException) -> bool:
    """A removal error that means the container is gone or going anyway."""
    return "No such container" in str(exc) or "already in progress" in str(exc)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


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
    hostname = socket.gethostname()
    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        labels = container.labels or {}
        try:
            pid = int(labels.get(OWNER_LABEL, ""))
        except ValueError:
            continue
        if labels.get(HOST_LABEL, hostname) != hostname or (pid_alive(pid) and not include_live):
            continue
        try:
            container.remove(force=True)
            removed.append(container.name)
        except _docker_errors() as exc:
            if not _gone(exc):
                raise InfraError(f"cannot remove stale container {container.name}: {_one_line(exc)}") from exc
    return removed


def _secret_tar(path: str, secret: str) -> bytes:
    """A tar archive holding ``path`` (mode 0600, root) with ``secret``, its directory 0700."""
    import io
    import tarfile

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


class DockerSamba(Target):
    """Samba in a docker container: found (compose service ``samba``) or started and owned."""

    name = "docker"

    @classmethod
    def from_spec(cls, spec, hold_s=None, degrade_ms=None) -> "DockerSamba":
        return cls(suite=spec.variant or DEFAULT_SUITE)

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
        """
        if suite not in SUITES:
            raise ValueError(f"suite must be one of {', '.join(SUITES)}, not {suite!r}")
        if address not in ("bridge", "published"):
            raise ValueError(f"address must be 'bridge' or 'published', not {address!r}")
        if server_view not in SERVER_VIEWS:
            raise ValueError(f"server_view must be one of {', '.join(SERVER_VIEWS)}, not {server_view!r}")
        unknown = set(host_ports or {}) - set(CONTAINER_PORTS)
        if unknown:
            raise ValueError(f"host_ports keys must be among {sorted(CONTAINER_PORTS)}: {sorted(unknown)}")
        self.use_existing = use_existing
        self.compose_project = (compose_project or os.environ.get("COMPOSE_PROJECT_NAME")
                                or _compose_project_name(REPO_DIR))
        self.address = address
        self.server_view = server_view
        self.host_ports = dict(host_ports or {})
        self.suite = suite
        self.name = "docker" if suite == DEFAULT_SUITE else f"docker:{suite}"
        self.image_tag = image_tag or image_tag_for(suite)
        self.context_dir = Path(context_dir) if context_dir else CONTEXT_DIR
        self.health_timeout_s = health_timeout_s
        self.health_interval_s = health_interval_s
        self._want = {"user": username, "share": share, "netbios_name": netbios_name}
        self._client = None
        self._container = None
        self._owned = False
        self._pid = 0
        self._diag: tuple[int, TcpTable] | None = None  # (init pid, its namespace's table)
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
        container = self._require_container()
        if self._pid and os.path.exists(f"/proc/{self._pid}"):
            return self._pid  # one inspect call less per server_sockets()
        container.reload()
        pid = int(container.attrs["State"].get("Pid") or 0)
        if pid <= 0:
            raise InfraError(f"container {container.name} is not running")
        self._pid = pid
        return pid

    def describe(self) -> str:
        if self._endpoint is None:
            return f"{self.name}: not started"
        how = "started" if self._owned else "found"
        server = f", {self._server_version}" if self._server_version else ""
        return f"{self.name} ({how} {self.container_name}{server}): {self._endpoint.describe()}"

    def server_version(self) -> str | None:
        return self._server_version

    def __repr__(self) -> str:
        host = self._endpoint.host if self._endpoint else None
        return (f"DockerSamba(container={self.container_name!r}, owned={self._owned}, "
                f"address={self.address!r}, host={host!r})")

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._client = connect()
        cleanup_stale(self._client)
        found = self._find_compose_container() if self.use_existing else None
        t0 = time.monotonic()
        if found is not None:
            self._container, self._owned = found, False
            self._read_credentials(found)
        else:
            self._build_image()
            t0 = time.monotonic()
            self._run_container()
        self._wait_healthy()
        self.timings["start_to_healthy_s"] = time.monotonic() - t0
        self._make_endpoints()
        t1 = time.monotonic()
        self._check_ready()
        self.timings["ready_s"] = time.monotonic() - t1
        self._server_version = self._read_server_version()

    def stop(self) -> None:
        container, self._container = self._container, None
        if container is not None and self._owned:
            # SIGTERM first (the entrypoint stops both daemons); remove(force) decides anyway.
            with contextlib.suppress(*_docker_errors()):
                container.stop(timeout=STOP_GRACE_S)
            try:
                container.remove(force=True)
            except _docker_errors() as exc:
                if not _gone(exc):
                    raise InfraError(f"cannot remove container {container.name}: {_one_line(exc)}") from exc
        self._owned = False
        self._pid = 0
        if self._diag:
            self._diag[1].close()
            self._diag = None
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
            return self._tcp_table().rows()
        return parse_ss(self.server_sh("ss", "-tainH"))

    def server_flow(self, local: str, peer: str) -> list[ServerSocket] | None:
        if self._container is None or not self._use_nsenter():
            return super().server_flow(local, peer)
        row = self._tcp_table().lookup(local, peer)
        return [row] if row else []

    def _tcp_table(self) -> TcpTable:
        """A sock_diag socket in the container's namespace (made again if the container's
        init process changed)."""
        pid = self.server_pid
        if self._diag is None or self._diag[0] != pid:
            if self._diag:
                self._diag[1].close()
            self._diag = (pid, TcpTable(f"/proc/{pid}/ns/net"))
        return self._diag[1]

    def _use_nsenter(self) -> bool:
        if self.server_view != "auto":
            return self.server_view == "nsenter"
        return os.geteuid() == 0 and bool(shutil.which("nsenter")) and self._engine_is_local()

    def server_sh(self, *argv: str, timeout_s: float = 10.0) -> str:
        """Run argv in the container's network namespace; return stdout (InfraError on failure).

        Uses the host's binaries through nsenter when root on the engine's host, else
        ``docker exec`` (the image has ss, ip and iptables).
        """
        container = self._require_container()
        if self._use_nsenter():
            cmd = ["nsenter", "-t", str(self.server_pid), "-n", "--", *argv]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                      check=False)
            except subprocess.TimeoutExpired as exc:
                raise InfraError(f"timed out after {timeout_s:.0f}s: {' '.join(cmd)}") from exc
            if done.returncode != 0:
                msg = (done.stderr or done.stdout).strip().splitlines()
                raise InfraError(f"{' '.join(cmd)}: {msg[-1] if msg else f'exit {done.returncode}'}")
            return done.stdout
        result = container.exec_run(list(argv), stdout=True, stderr=True, demux=True)
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        if result.exit_code != 0:
            msg = (err or out or b"").decode(errors="replace").strip().splitlines()
            raise InfraError(f"docker exec {container.name} {' '.join(argv)}: "
                             f"{msg[-1] if msg else f'exit {result.exit_code}'}")
        return (out or b"").decode(errors="replace")

    def logs(self, tail: int = LOG_TAIL_LINES) -> str:
        if self._container is None:
            return ""
        try:
            text = self._container.logs(tail=tail).decode(errors="replace")
        except _docker_errors() as exc:
            return f"(container logs unavailable: {_one_line(exc)})"
        return self._redact(text)

    # --- internals --------------------------------------------------------------------------

    def _require_container(self):
        if self._container is None:
            raise InfraError("docker target not started")
        return self._container

    def _engine_is_local(self) -> bool:
        base_url = getattr(self._client.api, "base_url", "") if self._client else ""
        return "docker.sock" in base_url or base_url.startswith("http+docker://local")

    def _redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _find_compose_container(self):
        labels = [f"com.docker.compose.service={COMPOSE_SERVICE}",
                  f"com.docker.compose.project={self.compose_project}"]
        running = self._client.containers.list(filters={"label": labels, "status": "running"})
        # Images built before the suite label existed are bookworm's.
        running = [c for c in running if c.labels.get("com.docker.compose.oneoff") != "True"
                   and c.labels.get(SUITE_LABEL, DEFAULT_SUITE) == self.suite]
        return min(running, key=lambda c: c.name) if running else None

    def _read_credentials(self, container) -> None:
        env = dict(e.split("=", 1) for e in container.attrs["Config"].get("Env") or [] if "=" in e)
        self._want = {"user": env.get("SAMBA_USER") or DEFAULT_USER,
                      "share": env.get("SAMBA_SHARE") or DEFAULT_SHARE,
                      "netbios_name": env.get("SAMBA_NETBIOS_NAME") or DEFAULT_NETBIOS_NAME}
        password = self._read_container_file(container, env.get("SAMBA_PASSWORD_FILE") or PASSWORD_FILE)
        # An old-style container may still carry SAMBA_PASSWORD in its environment.
        self._password = (password.rstrip("\r\n") if password is not None else None) \
            or env.get("SAMBA_PASSWORD") or DEFAULT_PASSWORD

    @staticmethod
    def _read_container_file(container, path: str) -> str | None:
        """The text of one file inside the container (through the engine's archive API), or None."""
        import io
        import tarfile

        try:
            stream, _ = container.get_archive(path)
            data = b"".join(stream)
        except _docker_errors():
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            handle = tar.extractfile(member) if member else None
            return handle.read().decode(errors="replace") if handle else None

    def _read_server_version(self) -> str | None:
        """'Samba 4.17.12-Debian' from ``smbd --version`` inside the container, or None."""
        try:
            result = self._container.exec_run(["smbd", "--version"], stdout=True, stderr=False)
        except _docker_errors():
            return None
        text = (result.output or b"").decode(errors="replace").strip()
        if result.exit_code != 0 or not text.startswith("Version "):
            return None
        return "Samba " + text.removeprefix("Version ").split()[0]

    def _build_image(self) -> None:
        from docker.errors import BuildError, ImageNotFound

        base = base_image(self.suite)
        try:
            self._client.images.get(base)
        except ImageNotFound:
            try:
                self._client.images.get(self.image_tag)
                return  # cannot rebuild without the base, but the image is there: use it
            except ImageNotFound:
                raise InfraError(f"base image {base} missing and no registry to pull from: "
                                 f"run .ci/docker-setup {self.suite}") from None
        if not (self.context_dir / "Dockerfile").is_file():
            raise InfraError(f"no Dockerfile in {self.context_dir} (build context of the samba image)")
        t0 = time.monotonic()
        try:
            self._client.images.build(path=str(self.context_dir), tag=self.image_tag, rm=True,
                                      forcerm=True, pull=False, timeout=BUILD_TIMEOUT_S,
                                      buildargs={"SUITE": self.suite})
        except BuildError as exc:
            lines = [str(x.get("stream") or x.get("error") or "").strip() for x in exc.build_log]
            last = [line for line in lines if line][-1:] or [exc.msg]
            raise InfraError(f"building {self.image_tag} failed: {last[0]}") from exc
        except _docker_errors() as exc:
            raise InfraError(f"building {self.image_tag} failed: {_one_line(exc)}") from exc
        self.timings["build_s"] = time.monotonic() - t0

    def _run_container(self) -> None:
        self._password = secrets.token_urlsafe(18)
        pid = os.getpid()
        name = f"{NAME_PREFIX}{pid}-samba-{secrets.token_hex(3)}"
        ports = {CONTAINER_PORTS[key]: ("127.0.0.1", self.host_ports.get(key))
                 for key in CONTAINER_PORTS}
        interval_ns = int(self.health_interval_s * 1e9)
        try:
            # Created, given its password file, then started: the password never enters the
            # container's environment (docker inspect, every docker exec).
            container = self._client.containers.create(
                self.image_tag, detach=True, name=name,
                labels={OWNER_LABEL: str(pid), HOST_LABEL: socket.gethostname()},
                environment={"SAMBA_USER": self._want["user"], "SAMBA_PASSWORD_FILE": PASSWORD_FILE,
                             "SAMBA_SHARE": self._want["share"],
                             "SAMBA_NETBIOS_NAME": self._want["netbios_name"],
                             "SAMBA_HEALTH_RECHECK_S": str(HEALTH_RECHECK_S)},
                ports=ports, cap_add=["NET_ADMIN"],
                # As on the embedded target: the server's TCP gives up on a silent peer in
                # about 3 s, so a blackholed victim's session dies inside the scenario.
                sysctls={"net.ipv4.tcp_retries2": str(SERVER_TCP_RETRIES2)},
                healthcheck={"test": ["CMD", "/usr/local/bin/healthcheck.sh"],
                             "interval": interval_ns, "timeout": int(10e9), "retries": 3,
                             "start_period": int(self.health_timeout_s * 1e9)})
        except _docker_errors() as exc:
            raise InfraError(f"cannot create container from {self.image_tag}: {_one_line(exc)}") from exc
        self._container, self._owned = container, True  # stop() removes it from here on
        try:
            container.put_archive("/", _secret_tar(PASSWORD_FILE, self._password))
            container.start()
        except _docker_errors() as exc:
            raise InfraError(f"cannot start container from {self.image_tag}: {_one_line(exc)}") from exc

    def _wait_healthy(self) -> None:
        container = self._container
        deadline = time.monotonic() + self.health_timeout_s
        last = "no health report yet"
        while True:
            container.reload()
            state = container.attrs["State"]
            if state.get("Status") != "running":
                raise InfraError(f"container {container.name} is {state.get('Status')} "
                                 f"(exit {state.get('ExitCode')}): {self.logs(20)[-400:]!r}")
            health = state.get("Health")
            if health is None:
                break  # no healthcheck configured (a user's own image): our checks decide
            if health.get("Log"):
                last = self._redact(str(health["Log"][-1].get("Output", "")).strip())
            if health.get("Status") == "healthy":
                break
            if health.get("Status") == "unhealthy":
                raise InfraError(f"container {container.name} is unhealthy: {last}")
            if time.monotonic() >= deadline:
                raise InfraError(f"container {container.name} not healthy after "
                                 f"{self.health_timeout_s:.0f}s: {last}")
            time.sleep(0.1)

    def _make_endpoints(self) -> None:
        container = self._container
        container.reload()
        settings = container.attrs["NetworkSettings"]
        bridge_ip = settings.get("IPAddress") or next(
            (n.get("IPAddress") for n in (settings.get("Networks") or {}).values()
             if n.get("IPAddress")), "")
        published = {}
        for key, container_port in CONTAINER_PORTS.items():
            bindings = (settings.get("Ports") or {}).get(container_port) or []
            ports = [int(b["HostPort"]) for b in bindings
                     if b.get("HostPort") and b.get("HostIp") in ("127.0.0.1", "0.0.0.0", "")]
            published[key] = ports[0] if ports else 0
        common = {"netbios_name": self._want["netbios_name"], "share": self._want["share"],
                  "username": self._want["user"], "password": self._password}
        if bridge_ip:
            bridge = Endpoint(host=bridge_ip, nbt_port=NBT_PORT, smb_port=SMB_PORT,
                              ns_port=NS_PORT, **common)
        else:
            bridge = None
        self._published = Endpoint(host="127.0.0.1", nbt_port=published["nbt"],
                                   smb_port=published["smb"], ns_port=published["ns"], **common)
        if self.address == "bridge":
            if bridge is None:
                raise InfraError(f"container {container.name} has no bridge IP address "
                                 "(use address='published')")
            self._endpoint = bridge
        else:
            if not published["nbt"]:
                raise InfraError(f"container {container.name} publishes no 139/tcp port")
            self._endpoint = self._published

    def _check_ready(self) -> None:
        """NBSTAT answered on the clients' endpoint, and NBT session requests answered 0x82
        both there and on the published 127.0.0.1 port (bounded)."""
        ep, pub = self._endpoint, self._published
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
                    last = f"{kind} to {host}:{port}: {_one_line(exc)}"
                if time.monotonic() >= deadline:
                    raise InfraError(f"container {self.container_name} healthy but not ready "
                                     f"after {READY_TIMEOUT_S:.0f}s: {last}")
                time.sleep(0.1)
