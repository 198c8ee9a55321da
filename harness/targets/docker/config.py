"""The docker target's fixed facts: Debian suites and image names, labels, the container's
ports, the entrypoint's defaults and every timeout. Pure data and naming, no I/O."""

from __future__ import annotations

import re
from pathlib import Path

from harness.paths import shipped

# Debian suite -> the Samba it ships (major.minor); the first is the default.
SUITES = {"bookworm": "4.17", "trixie": "4.22"}
DEFAULT_SUITE = "bookworm"
IMAGE_REPO = "nbt-harness/samba"
SUITE_LABEL = "nbt-harness.suite"  # set by docker/samba/Dockerfile from its SUITE build arg
PASSWORD_FILE = "/run/secrets/samba_password"  # docker/samba/entrypoint.sh reads it
# Samba's state, cache, logs, sockets and the share, in memory (tmpfs) as the embedded
# target's (harness.scratch): on the container's overlay they wait on the disk's journal
# whenever the machine writes and syncs. entrypoint.sh makes the directories inside them.
SCRATCH_DIRS = ("/var/lib/samba", "/var/cache/samba", "/var/log/samba", "/run/samba", "/srv/samba")
SCRATCH_TMPFS = dict.fromkeys(SCRATCH_DIRS, "")


def image_tag_for(suite: str) -> str:
    return f"{IMAGE_REPO}:{suite}"


def base_image(suite: str) -> str:
    """The local base image for a suite, made by .ci/docker-setup; never pulled."""
    return f"debian:{suite}-slim"


IMAGE_TAG = image_tag_for(DEFAULT_SUITE)
BASE_IMAGE = base_image(DEFAULT_SUITE)
CONTEXT_DIR = shipped("docker") / "samba"  # the checkout's docker/samba, or the wheel's copy
REPO_DIR = Path(__file__).resolve().parents[3]
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
# long: a full check every second would take a noticeable share of a core from the server
# under test.
HEALTH_RECHECK_S = 30
READY_TIMEOUT_S = 15.0  # the harness's own checks, after docker reports healthy
PROBE_TIMEOUT_S = 1.0
STOP_GRACE_S = 5
LOG_TAIL_LINES = 200
SERVER_VIEWS = ("auto", "nsenter", "exec")  # how server_sh reaches the container namespace
SERVER_TCP_RETRIES2 = 3


def compose_project_name(directory: Path) -> str:
    """docker-compose v1's default project name: the directory's basename, normalized."""
    return re.sub(r"[^-_a-z0-9]", "", directory.name.lower())
