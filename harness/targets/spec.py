"""Target specs from the command line or pytest options: parsing (pure) and construction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.errors import BadInput
from harness.replica.triggers import TRIGGERS as REPLICA_TRIGGERS

# docker:SUITE -> the Debian suite the Samba image is built from (Samba version); kept here
# (pure) rather than imported from the docker target, which needs the docker SDK.
DOCKER_SUITES = {"bookworm": "Samba 4.17", "trixie": "Samba 4.22"}
DEFAULT_DOCKER_SUITE = "bookworm"
KINDS = ("local", "replica", "docker")


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # local | replica | docker
    trigger: str | None = None
    options: dict = field(default_factory=dict)

    def label(self) -> str:
        if self.kind == "remote":
            spec = self.options["spec"]
            return spec.label or spec.masked()
        if self.kind == "docker" and self.options.get("suite", DEFAULT_DOCKER_SUITE) != DEFAULT_DOCKER_SUITE:
            return f"docker:{self.options['suite']}"
        return self.kind + (f":{self.trigger}" if self.trigger else "")


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<user>[^/]*)@")


def mask_userinfo(text: str) -> str:
    """``text`` with any password in its userinfo masked (``u:pw@host`` -> ``u:****@host``,
    with or without a scheme), for every message that repeats what the user typed."""
    m = _USERINFO.match(text)
    if m and ":" in m["user"]:
        user = m["user"].split(":", 1)[0]
        return f"{m['scheme'] or ''}{user}:****@{text[m.end():]}"
    return text


def parse_target(text: str) -> TargetSpec:
    """'local' | 'replica' | 'replica:TRIGGER' | 'docker' | 'docker:SUITE' | 'smb://...' | a
    named target. No error message repeats a password typed into the text."""
    text = (text or "local").strip()
    if text[:6].lower() == "smb://":  # URL schemes are case-insensitive (RFC 3986 3.1)
        from harness.targets.remote import parse_smb_url

        return TargetSpec("remote", options={"spec": parse_smb_url(text)})
    kind, _, rest = text.partition(":")
    if kind == "replica":
        trigger = rest or "any"
        if trigger not in REPLICA_TRIGGERS:
            raise BadInput(f"invalid target {mask_userinfo(text)!r}: "
                           "replica trigger must be one of "
                           f"{', '.join(REPLICA_TRIGGERS)}")
        return TargetSpec("replica", trigger)
    if kind == "docker" and rest:
        if rest not in DOCKER_SUITES:
            raise BadInput(f"invalid target {mask_userinfo(text)!r}: docker suite must be one of "
                           f"{', '.join(DOCKER_SUITES)}")
        return TargetSpec("docker", options={"suite": rest})
    if kind in ("local", "docker") and not rest:
        return TargetSpec(kind)
    if kind not in KINDS:
        from harness.targets.remote import config_path, load_named_targets

        named = load_named_targets(config_path())
        if text in named:
            return TargetSpec("remote", options={"spec": named[text]})
    raise BadInput(f"invalid target {mask_userinfo(text)!r}: "
                   "expected local, replica[:TRIGGER], docker[:SUITE], "
                   "smb://[DOMAIN;]USER@HOST[:PORT]/SHARE or a name from the targets file")


def make_target(spec: TargetSpec, hold_s: float | None = None, degrade_ms: float | None = None):
    """A Target object (not started) for the spec."""
    if spec.kind == "local":
        from harness.targets.local import LocalSamba

        return LocalSamba()
    if spec.kind == "replica":
        from harness.targets.replica import ReplicaTarget

        return ReplicaTarget(trigger=spec.trigger or "any", hold_s=hold_s, degrade_ms=degrade_ms)
    if spec.kind == "docker":
        from harness.targets.docker import DockerSamba

        return DockerSamba(suite=spec.options.get("suite", DEFAULT_DOCKER_SUITE))
    if spec.kind == "remote":
        from harness.targets.remote import RemoteTarget

        return RemoteTarget(spec.options["spec"])
    raise BadInput(f"unknown target kind {spec.kind!r}")
