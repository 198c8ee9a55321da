"""The docker target against a real docker engine (skipped, with the reason, when none answers).

Prepare a machine with ``.ci/docker-setup`` (engine + local base image; nothing is pulled).
Every container these tests start is removed by them; built images are kept (build cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from harness.errors import InfraError
from harness.targets import docker as docker_target
from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.targets.docker import DockerSamba

pytestmark = pytest.mark.integration

REPO_DIR = docker_target.REPO_DIR


def _engine_or_skip():
    try:
        return docker_target.connect()
    except InfraError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def engine():
    client = _engine_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="module")
def target(engine):
    t = DockerSamba(use_existing=False)
    with t:
        yield t


def _smb_session(endpoint, host: str | None = None, port: int | None = None, dialect=None):
    from impacket.smbconnection import SMBConnection

    # The NetBIOS name is passed explicitly: '*SMBSERVER' would cost an NBSTAT first.
    conn = SMBConnection(remoteName=endpoint.netbios_name, remoteHost=host or endpoint.host,
                         sess_port=port or endpoint.nbt_port, timeout=5, preferredDialect=dialect)
    conn.login(endpoint.username, endpoint.password, endpoint.domain)
    return conn


def test_start_gives_bridge_endpoint_with_standard_ports(target):
    ep = target.endpoint
    assert target.owned
    assert target.container_name.startswith(f"nbth-{os.getpid()}-samba-")
    assert ep.host != "127.0.0.1"
    assert (ep.ns_port, ep.nbt_port, ep.smb_port) == (137, 139, 445)
    pub = target.published_endpoint
    assert pub.host == "127.0.0.1" and pub.nbt_port and pub.smb_port and pub.ns_port
    assert target.timings["start_to_healthy_s"] > 0
    assert target.client_netns("victim") is None
    assert target.suite == "bookworm" and target.image_tag == "nbt-harness/samba:bookworm"
    assert target.server_version().startswith("Samba 4.17."), target.server_version()


def test_password_never_shown(target):
    password = target.endpoint.password
    assert len(password) >= 16
    for text in (repr(target), target.describe(), repr(target.endpoint),
                 repr(target.published_endpoint), target.logs()):
        assert password not in text


def test_password_is_in_no_environment(engine, target):
    """Not in the container's config (docker inspect), not in the environment of any process
    in it (every docker exec would inherit it); only in a root-only file."""
    password = target.endpoint.password
    attrs = engine.api.inspect_container(target.container_name)
    assert password not in json.dumps(attrs)
    assert not [e for e in attrs["Config"]["Env"] if e.startswith("SAMBA_PASSWORD=")]
    container = engine.containers.get(target.container_name)
    every_env = container.exec_run(["sh", "-c", "cat /proc/[0-9]*/environ; env"]).output
    assert b"SAMBA_USER=" in every_env and password.encode() not in every_env
    mode = container.exec_run(["stat", "-c", "%a %U", docker_target.PASSWORD_FILE]).output
    assert mode.decode().split() == ["600", "root"]


def test_samba_state_and_share_are_in_memory(engine, target):
    """Samba's state, logs, sockets and the share are tmpfs mounts (harness.scratch's reason),
    and the running server keeps its passdb and the share there."""
    container = engine.containers.get(target.container_name)
    mounts = container.exec_run(["cat", "/proc/self/mounts"]).output.decode().splitlines()
    fs_of = {line.split()[1]: line.split()[2] for line in mounts}
    assert {fs_of.get(d) for d in docker_target.SCRATCH_DIRS} == {"tmpfs"}, fs_of
    found = container.exec_run(["sh", "-c", "ls /var/lib/samba/private /srv/samba"]).output
    assert b"passdb.tdb" in found and target.endpoint.share.encode() in found


def test_nbstat_answered_on_bridge_and_published_port(target):
    ep, pub = target.endpoint, target.published_endpoint
    for host, port in ((ep.host, ep.ns_port), (pub.host, pub.ns_port)):
        status = node_status(host, port, timeout_s=2.0)
        assert status.server_name() == ep.netbios_name, (host, port, status.names)


def test_nbt_session_request_positive_on_bridge_and_published_port(target):
    ep, pub = target.endpoint, target.published_endpoint
    for host, port in ((ep.host, ep.nbt_port), (pub.host, pub.nbt_port)):
        request_session(host, port, ep.netbios_name, "NBTHTEST", 2.0)  # raises unless 0x82


@pytest.mark.parametrize("dialect_name", ["default", "SMB1", "SMB3_11"])
def test_smb_session_over_nbt_139_with_echo(target, dialect_name):
    from impacket import smb
    from impacket.smb3structs import SMB2_DIALECT_311

    # impacket offers only NT1 and SMB 2.002 on port 139 unless a dialect is asked for.
    dialect = {"default": None, "SMB1": smb.SMB_DIALECT, "SMB3_11": SMB2_DIALECT_311}[dialect_name]
    ep = target.endpoint
    conn = _smb_session(ep, dialect=dialect)
    try:
        if dialect is not None:
            assert conn.getDialect() == dialect
        tree_id = conn.connectTree(ep.share)
        assert tree_id
        server = conn.getSMBServer()
        if dialect == smb.SMB_DIALECT:
            server.echo("nbt-harness", 1)  # raises on a bad answer
        else:
            assert server.echo() is True
        conn.disconnectTree(tree_id)
    finally:
        conn.close()


@pytest.mark.parametrize("view", ["nsenter", "exec"])
def test_server_sockets_show_the_clients_true_address(target, view, monkeypatch):
    """nsenter (root on the engine's host) and docker exec (any engine user) both find the
    client's own connection in the server's TCP table, and both can run iptables there."""
    monkeypatch.setattr(target, "server_view", view)
    conn = _smb_session(target.endpoint)
    try:
        local = "%s:%d" % conn.getSMBServer().get_socket().getsockname()[:2]
        rows = target.server_sockets()
        mine = [r for r in rows if r.peer == local]
        assert len(mine) == 1, (local, [(r.state, r.local, r.peer) for r in rows])
        assert mine[0].state == "ESTAB"
        assert mine[0].local.endswith(":139")
        assert "bytes_received" in mine[0].info or "rtt" in mine[0].info
        assert "-P INPUT" in target.server_sh("iptables", "-S", "INPUT")
    finally:
        conn.close()


def _assert_tree_connects(endpoint) -> None:
    conn = _smb_session(endpoint)
    try:
        assert conn.connectTree(endpoint.share)
    finally:
        conn.close()


def test_smb_session_through_published_port(target):
    _assert_tree_connects(target.published_endpoint)


def test_stop_removes_only_what_it_started(engine):
    from docker.errors import NotFound

    t = DockerSamba(use_existing=False)
    t.start()
    name = t.container_name
    assert engine.containers.get(name).status == "running"
    t.stop()
    with pytest.raises(NotFound):
        engine.containers.get(name)
    t.stop()  # idempotent
    assert t.server_sockets() is None
    assert t.describe() == "docker: not started"


def test_cleanup_stale_removes_containers_of_dead_owners(engine):
    from docker.errors import NotFound

    from harness.lab import owner

    owner.register()
    dead = subprocess.Popen([sys.executable, "-c", "from harness.lab import owner; owner.register()"])
    dead.wait()
    labels = {docker_target.OWNER_LABEL: str(dead.pid),
              docker_target.HOST_LABEL: __import__("socket").gethostname()}
    stale = engine.containers.create(docker_target.IMAGE_TAG, entrypoint=["true"], labels=labels,
                                     name=f"nbth-{dead.pid}-stale-{uuid.uuid4().hex[:6]}")
    alive = engine.containers.create(docker_target.IMAGE_TAG, entrypoint=["true"],
                                     labels={**labels, docker_target.OWNER_LABEL: str(os.getpid())},
                                     name=f"nbth-{os.getpid()}-alive-{uuid.uuid4().hex[:6]}")
    no_host = engine.containers.create(docker_target.IMAGE_TAG, entrypoint=["true"],
                                       labels={docker_target.OWNER_LABEL: str(dead.pid)},
                                       name=f"nbth-{dead.pid}-nohost-{uuid.uuid4().hex[:6]}")
    try:
        removed = docker_target.cleanup_stale(engine)
        assert stale.name in removed and alive.name not in removed and no_host.name not in removed
        with pytest.raises(NotFound):
            engine.containers.get(stale.name)
        engine.containers.get(alive.name)
        engine.containers.get(no_host.name)  # no host label: not provably this host's
    finally:
        for c in (stale, alive, no_host):
            try:
                c.remove(force=True)
            except NotFound:
                pass


def test_a_container_removed_while_the_engine_lists_is_not_an_error(engine, monkeypatch):
    """Runs at once each clean up stale containers and look for a compose service as they
    start: a container another run removes between the engine's listing and its inspection
    (NotFound from the SDK's per-container inspect) is not listed, never an error of this run.
    The listing here names a container that no longer exists, as that race leaves it."""
    from harness.targets.docker.container import find_compose_container

    gone_id = engine.containers.create(docker_target.IMAGE_TAG, entrypoint=["true"]).id
    engine.containers.get(gone_id).remove(force=True)
    real = engine.api.containers
    monkeypatch.setattr(engine.api, "containers", lambda *a, **kw: [*real(*a, **kw), {"Id": gone_id}])
    assert docker_target.cleanup_stale(engine) == []
    assert find_compose_container(engine, f"nbthtest{os.getpid()}", "bookworm") is None


COMPOSE_PASSWORD = uuid.uuid4().hex


@pytest.fixture
def compose_project(engine, tmp_path):
    """A docker-compose project of this repo's docker-compose.yml, on free host ports, with
    its password in a file."""
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose not installed (.ci/docker-setup installs it)")
    project = f"nbthtest{os.getpid()}"
    password_file = tmp_path / "samba-password"
    password_file.write_text(COMPOSE_PASSWORD + "\n")
    password_file.chmod(0o600)
    env = {**os.environ, "NBTH_NS_PORT": "0", "NBTH_NBT_PORT": "0", "NBTH_SMB_PORT": "0",
           "NBTH_SAMBA_PASSWORD_FILE": str(password_file)}
    compose = ["docker-compose", "-p", project, "-f", str(REPO_DIR / "docker-compose.yml")]
    try:
        done = subprocess.run([*compose, "up", "-d", "--build"], env=env, capture_output=True,
                              text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-1000:]
        yield project
    finally:
        subprocess.run([*compose, "down", "-v", "--timeout", "5"], env=env, capture_output=True,
                       timeout=120, check=False)


def test_compose_container_is_used_and_left_running(engine, compose_project):
    t = DockerSamba(compose_project=compose_project)
    with t:
        assert not t.owned
        name = t.container_name
        assert t.endpoint.password == COMPOSE_PASSWORD  # read from the mounted file
        _assert_tree_connects(t.endpoint)
        attrs = engine.api.inspect_container(name)
        assert COMPOSE_PASSWORD not in json.dumps(attrs)
    assert engine.containers.get(name).status == "running"
