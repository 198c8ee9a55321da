"""The docker target's spelling: docker, docker:bookworm, docker:trixie (pure parsing)."""

import pytest

from harness.errors import BadInput
from harness.targets import docker as docker_target
from harness.targets import DOCKER_SUITES
from harness.targets.spec import parse_target


@pytest.mark.parametrize("text, suite, label", [
    ("docker", "bookworm", "docker"),
    ("docker:bookworm", "bookworm", "docker"),
    ("docker:trixie", "trixie", "docker:trixie"),
])
def test_docker_suites_parse(text, suite, label):
    spec = parse_target(text)
    assert spec.kind == "docker" and spec.variant == suite and spec.label() == label


@pytest.mark.parametrize("text", ["docker:sid", "docker:Trixie", "docker:trixie:x"])
def test_unknown_suite_is_bad_input(text):
    with pytest.raises(BadInput, match="invalid target"):
        parse_target(text)


def test_spec_and_target_know_the_same_suites():
    assert list(DOCKER_SUITES) == list(docker_target.SUITES)
    assert docker_target.image_tag_for("trixie") == "nbt-harness/samba:trixie"
    assert docker_target.base_image("trixie") == "debian:trixie-slim"
    with pytest.raises(ValueError):
        docker_target.DockerSamba(suite="sid")


def test_secret_tar_is_root_only():
    import io
    import tarfile

    from harness.targets.docker.container import secret_tar

    data = secret_tar("/run/secrets/samba_password", "pw")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        d, f = tar.getmembers()
        assert (d.name, d.isdir(), d.mode) == ("run/secrets", True, 0o700)
        assert (f.name, f.mode, f.uid, tar.extractfile(f).read()) == (
            "run/secrets/samba_password", 0o600, 0, b"pw")


def test_tcp_retries2_option_makes_a_docker_target_of_its_own():
    """docker:SUITE,tcp_retries2=N (the failing control's container): never a found compose
    container (its TCP gives up after 3 retries); the name and label say it; bad values are
    bad input."""
    from harness.targets.spec import make_target

    spec = parse_target("docker:bookworm,tcp_retries2=15")
    assert spec.label() == "docker:bookworm,tcp_retries2=15"
    target = make_target(spec)
    assert (target.server_tcp_retries2, target.use_existing, target.kind) == (15, False, "docker")
    assert target.name == "docker:bookworm,tcp_retries2=15"
    default = make_target(parse_target("docker"))
    assert (default.server_tcp_retries2, default.use_existing, default.name) == (3, True, "docker")
    for bad in ("0", "16", "x", "-1"):
        with pytest.raises(BadInput, match="tcp_retries2"):
            make_target(parse_target(f"docker:bookworm,tcp_retries2={bad}"))


def test_local_configs_make_the_server_they_name():
    """local:CONFIG: the waiting server's TCP (tcp-retries-default), the real-time server
    (server-rt); building a target starts nothing."""
    from harness.targets.spec import make_target

    made = {c: make_target(parse_target(f"local:{c}")) for c in ("default", "tcp-retries-default", "server-rt")}
    assert {c: (t.server_tcp_retries2, t.raise_server_priority) for c, t in made.items()} == {
        "default": (3, False), "tcp-retries-default": (15, False), "server-rt": (3, True)}
    assert make_target(parse_target("local")).raise_server_priority is False
