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

The password is kept out of every repr, message and log this package produces.

The parts, one concern each: ``config`` (suites, names, ports, timeouts), ``engine``
(connecting, stale containers), ``image`` (the build), ``container`` (find, create, start,
health, logs, removal), ``readiness`` (endpoints, NBSTAT and session checks),
``server_view`` (nsenter or docker exec, the namespace's TCP table) and ``target``
(DockerSamba, which composes them).
"""

from harness.targets.docker.config import (
    BASE_IMAGE,
    CONTEXT_DIR,
    DEFAULT_SUITE,
    HOST_LABEL,
    IMAGE_TAG,
    OWNER_LABEL,
    PASSWORD_FILE,
    REPO_DIR,
    SCRATCH_DIRS,
    SUITES,
    base_image,
    image_tag_for,
)
from harness.targets.docker.engine import cleanup_stale, connect
from harness.targets.docker.target import DockerSamba

__all__ = [
    "BASE_IMAGE",
    "CONTEXT_DIR",
    "DEFAULT_SUITE",
    "HOST_LABEL",
    "IMAGE_TAG",
    "OWNER_LABEL",
    "PASSWORD_FILE",
    "REPO_DIR",
    "SCRATCH_DIRS",
    "SUITES",
    "DockerSamba",
    "base_image",
    "cleanup_stale",
    "connect",
    "image_tag_for",
]
