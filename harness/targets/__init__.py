"""Targets: the servers under test. The registry below is the only list of target kinds a
target string can name: a new target is one new file (a Target subclass with
``from_spec(spec, hold_s=..., degrade_ms=...)``) plus one line here. Pure data: parsing a
target string imports no target module (the docker one needs the docker SDK)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from harness.replica.triggers import TRIGGERS as REPLICA_TRIGGERS

# docker:SUITE -> the Debian suite the Samba image is built from (its Samba)
# local:CONFIG -> what the embedded Samba's server is started with (harness.targets.local);
# "tcp-retries-default": the namespace keeps Linux's net.ipv4.tcp_retries2 = 15, so a
# blackholed client is noticed only after about 15 minutes (a server that makes others wait)
LOCAL_CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "tcp-retries-default": {"server_tcp_retries2": 15},
    # smbd and nmbd at SCHED_RR 2 (docs/pages/replica.md: "What held healthy Samba")
    "server-rt": {"raise_server_priority": True},
}
DOCKER_SUITES = {"bookworm": "Samba 4.17", "trixie": "Samba 4.22"}
# docker:SUITE,tcp_retries2=N: the container's net.ipv4.tcp_retries2 (default 3, as the embedded
# target's; 15, Linux's default, makes a server that notices a blackholed client only after
# about 15 minutes: the docker target's failing control for the holdings)


@dataclass(frozen=True)
class TargetKind:
    name: str  # what a target string starts with (before any ':')
    impl: str  # "module:Class", imported only when the target is made
    variants: tuple[str, ...] = ()  # what may follow 'name:' (none: nothing may)
    default_variant: str | None = None
    variant_in_label: bool = False  # the label names the variant even when defaulted
    spelling: str = ""  # for messages, e.g. "replica[:TRIGGER]"
    variant_name: str = ""  # what a variant is: trigger, suite
    options: tuple[str, ...] = ()  # NAME=VALUE options after the variant: 'kind:variant,k=v,...'

    def load(self) -> Any:
        module, _, cls = self.impl.partition(":")
        return getattr(importlib.import_module(module), cls)


TARGETS: dict[str, TargetKind] = {
    k.name: k
    for k in (
        TargetKind(
            "local",
            "harness.targets.local:LocalSamba",
            tuple(LOCAL_CONFIGS),
            "default",
            spelling="local[:CONFIG]",
            variant_name="config",
        ),
        TargetKind(
            "replica",
            "harness.targets.replica:ReplicaTarget",
            tuple(REPLICA_TRIGGERS),
            "any",
            variant_in_label=True,
            spelling="replica[:TRIGGER][,hold=create|logon|lock][,lose_write=N[,lose_write_from=victim]]"
            "[,reclaim=grant]",
            variant_name="trigger",
            options=("hold", "lose_write", "lose_write_from", "reclaim"),
        ),
        TargetKind(
            "docker",
            "harness.targets.docker:DockerSamba",
            tuple(DOCKER_SUITES),
            "bookworm",
            spelling="docker[:SUITE][,tcp_retries2=N]",
            variant_name="suite",
            options=("tcp_retries2",),
        ),
    )
}
# A server the harness does not start: an smb:// URL or a name from the targets file.
REMOTE = TargetKind("remote", "harness.targets.remote:RemoteTarget")
