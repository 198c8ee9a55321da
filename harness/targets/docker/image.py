"""The Samba image: built from docker/samba for a Debian suite, on a local base image made by
.ci/docker-setup (nothing is ever pulled); the engine's build cache makes a rebuild cheap."""

from __future__ import annotations

import time
from pathlib import Path

from harness.errors import InfraError
from harness.targets.docker.config import BUILD_TIMEOUT_S, base_image
from harness.targets.docker.engine import docker_errors, one_line


def build_image(client, suite: str, image_tag: str, context_dir: Path) -> float | None:
    """Build ``image_tag`` for ``suite``; return the seconds it took, or None when the base image
    is missing but the image is already there (used as it is). InfraError when it cannot."""
    from docker.errors import BuildError, ImageNotFound

    base = base_image(suite)
    try:
        client.images.get(base)
    except ImageNotFound:
        try:
            client.images.get(image_tag)
            return None  # cannot rebuild without the base, but the image is there: use it
        except ImageNotFound:
            raise InfraError(
                f"base image {base} missing and no registry to pull from: "
                f"run .ci/docker-setup {suite}"
            ) from None
    if not (context_dir / "Dockerfile").is_file():
        raise InfraError(f"no Dockerfile in {context_dir} (build context of the samba image)")
    t0 = time.monotonic()
    try:
        client.images.build(
            path=str(context_dir),
            tag=image_tag,
            rm=True,
            forcerm=True,
            pull=False,
            timeout=BUILD_TIMEOUT_S,
            buildargs={"SUITE": suite},
        )
    except BuildError as exc:
        lines = [str(x.get("stream") or x.get("error") or "").strip() for x in exc.build_log]
        last = [line for line in lines if line][-1:] or [exc.msg]
        raise InfraError(f"building {image_tag} failed: {last[0]}") from exc
    except docker_errors() as exc:
        raise InfraError(f"building {image_tag} failed: {one_line(exc)}") from exc
    return time.monotonic() - t0
