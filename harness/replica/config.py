"""The replica's settings (validated: every bad value is a one-line BadInput) and its event
log (JSON lines)."""

from __future__ import annotations

import ipaddress
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from harness.errors import BadInput
from harness.replica.triggers import HOLDS, TRIGGERS


def _check_port(name: str, value: object, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{name} must be an integer port, got {value!r}")
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise BadInput(f"{name} must be in {low}..65535, got {value}")


def _check_number(name: str, value: object, minimum: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise BadInput(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")


LAB_NETWORK = ipaddress.ip_network("10.213.0.0/16")  # harness.lab.netns.LAB_SUBNET_PREFIX


def lab_address(addr: str) -> bool:
    """Loopback or the project's lab subnet (which exists only inside its namespaces): the
    addresses a stand-alone replica may listen on without --allow-any-address."""
    ip = ipaddress.ip_address(addr)
    return ip.is_loopback or ip in LAB_NETWORK


def _check_addr(name: str, value: object) -> None:
    try:
        ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        raise BadInput(f"{name} must be an IP address, got {value!r}") from None


@dataclass
class ReplicaConfig:
    """Settings of one replica. Listen port 0 lets the kernel pick (the ``listening`` event
    reports the real ports); upstream ports default to the listen ports."""

    listen_host: str
    upstream_host: str
    nbt_port: int = 139
    smb_port: int = 445
    ns_port: int = 137
    upstream_nbt_port: int | None = None
    upstream_smb_port: int | None = None
    upstream_ns_port: int | None = None
    trigger: str = "any"
    hold_s: float = 1.0
    degrade_ms: float = 0.0
    # what a hold holds: all (freeze or degrade) | create | logon | lock (those requests only)
    holds: str = "all"
    lose_write: int = 0  # > 0: the Nth WRITE is acknowledged by the relay, never forwarded
    # an IP address: count only connections from that host, the Nth WRITE of each
    lose_write_from: str | None = None
    # every durable reconnect (DHnC, DH2C) answered with success by the relay, never forwarded
    # (harness.replica.answer): a server that grants a stale reclaim
    grant_reclaim: bool = False
    user_timeout_ms: int = 3000  # TCP_USER_TIMEOUT on client sockets; 0 leaves the default
    frame_timeout_s: float = 1.0
    log_path: str | None = None
    # Limits: client connections at once (more are reset at once), bytes a connection holds
    # per direction (beyond it the relay stops reading that side: TCP flow control), and
    # name-service datagrams held during a freeze (more are dropped, as on the wire).
    max_connections: int = 256
    max_held_bytes: int = 16 * 1024 * 1024
    max_held_datagrams: int = 1024

    def __post_init__(self) -> None:
        _check_addr("listen address", self.listen_host)
        _check_addr("upstream address", self.upstream_host)
        for name in ("nbt_port", "smb_port", "ns_port"):
            _check_port(name, getattr(self, name), allow_zero=True)
        if self.upstream_nbt_port is None:
            self.upstream_nbt_port = self.nbt_port
        if self.upstream_smb_port is None:
            self.upstream_smb_port = self.smb_port
        if self.upstream_ns_port is None:
            self.upstream_ns_port = self.ns_port
        for name in ("upstream_nbt_port", "upstream_smb_port", "upstream_ns_port"):
            _check_port(name, getattr(self, name), allow_zero=False)
        if self.nbt_port and self.nbt_port == self.smb_port:
            raise BadInput(f"nbt_port and smb_port are both {self.nbt_port}")
        if self.trigger not in TRIGGERS:
            raise BadInput(
                f"unknown trigger {self.trigger!r} (expected one of {', '.join(TRIGGERS)})"
            )
        if self.holds not in HOLDS:
            raise BadInput(f"unknown hold {self.holds!r} (expected one of {', '.join(HOLDS)})")
        if self.holds != "all" and self.degrade_ms:
            raise BadInput(
                f"a {self.holds} hold holds requests; it cannot also degrade (degrade_ms > 0)"
            )
        if (
            isinstance(self.lose_write, bool)
            or not isinstance(self.lose_write, int)
            or self.lose_write < 0
        ):
            raise BadInput(f"lose_write must be an integer >= 0, got {self.lose_write!r}")
        if self.lose_write_from is not None:
            _check_addr("lose_write_from", self.lose_write_from)
            if not self.lose_write:
                raise BadInput("lose_write_from needs lose_write (which write to lose)")
        if self.lose_write and self.holds != "all":
            raise BadInput(f"lose_write and a {self.holds} hold cannot be combined")
        if not isinstance(self.grant_reclaim, bool):
            raise BadInput(f"grant_reclaim must be true or false, got {self.grant_reclaim!r}")
        if self.grant_reclaim and self.holds != "all":
            raise BadInput(f"grant_reclaim and a {self.holds} hold cannot be combined")
        _check_number("hold_s", self.hold_s, 0.0)
        _check_number("degrade_ms", self.degrade_ms, 0.0)
        _check_number("frame_timeout_s", self.frame_timeout_s, 0.0, strict=True)
        if (
            isinstance(self.user_timeout_ms, bool)
            or not isinstance(self.user_timeout_ms, int)
            or self.user_timeout_ms < 0
        ):
            raise BadInput(f"user_timeout_ms must be an integer >= 0, got {self.user_timeout_ms!r}")
        for name in ("max_connections", "max_held_bytes", "max_held_datagrams"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(f"{name} must be an integer >= 1, got {value!r}")
        if ipaddress.ip_address(self.listen_host) == ipaddress.ip_address(self.upstream_host):
            for listen, upstream in (
                (self.nbt_port, self.upstream_nbt_port),
                (self.smb_port, self.upstream_smb_port),
                (self.ns_port, self.upstream_ns_port),
            ):
                if listen == upstream:
                    raise BadInput(f"the relay would forward {self.listen_host}:{listen} to itself")


class EventLog:
    """JSON-lines event sink: one line per event to ``path`` (appended), else to stderr."""

    def __init__(self, path: str | None, stream: TextIO | None = None) -> None:
        self._stream: TextIO | None = (
            stream if stream is not None else (None if path else sys.stderr)
        )
        self._file: TextIO | None = None
        if path:
            try:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise BadInput(f"cannot open log file {path}: {exc.strerror}") from None

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(", ", ": ")) + "\n"
        for out in (self._file, self._stream):
            if out is not None:
                try:
                    out.write(line)
                    out.flush()
                except (OSError, ValueError):
                    pass

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
