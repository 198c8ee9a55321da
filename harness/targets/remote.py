"""Servers the harness does not start: a lab Windows host, or any SMB/NBT server, given as
an smb:// URL or by name from a targets file (harness.targets.remote_spec). The password
comes from ``NBT_HARNESS_PASSWORD`` or the password file, never from the command line, and is
never printed.

Before any scenario the harness discovers what the host offers (NBSTAT on the name-service
port, NBT on the session port, direct TCP on 445, a login and tree connect over SMB 2/3) and
skips scenarios that need what it lacks; SMB1 is asked for only by a scenario that wants
nt1. It cannot look inside such a server, so drops that need server-side evidence end as
``error`` unless a drop can prove itself from the harness's side.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

from harness.clients.session import open_session
from harness.dialects import is_smb1
from harness.errors import BadInput, InfraError
from harness.lab.inns import call_in_netns, start_without_signals
from harness.probes import PROBES
from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.targets.base import Endpoint, Target
from harness.targets.password import read_password
from harness.targets.remote_spec import RemoteSpec

DISCOVERY_TIMEOUT_S = 3.0  # per network operation of the discovery
LOGIN_DEADLINE_S = 3 * DISCOVERY_TIMEOUT_S  # a whole login + tree connect (a server that
# trickles bytes or keep-alives would otherwise hold each operation just under its timeout)
RESOLVE_TIMEOUT_S = 5.0


@dataclass
class Capabilities:
    nbstat: bool = False
    nbt: bool = False
    # False: the port refused the connection (nothing listens: no direct TCP); None: the
    # check could not tell (timed out, reset), so a tcp scenario asks again and errors.
    direct_445: bool | None = False
    # Never probed at discovery: SMB1 is tried only when a scenario asks for nt1 (offers()).
    smb1: bool | None = None
    notes: list[str] = field(default_factory=list)


class RemoteTarget(Target):
    """A server the harness does not start (a lab Windows host): discovered over NBSTAT, NBT
    139, direct TCP 445 and a login; drops are proven by a capture on the harness's side."""

    name = "remote"
    kind = "remote"
    grants_every_holding = False  # not configured by the harness: a refused holding is a skip
    configured_by_harness = False  # a dialect or transport it does not offer is a skip

    @classmethod
    def from_spec(cls, spec, hold_s=None, degrade_ms=None) -> RemoteTarget:
        return cls(spec.options["spec"])

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec
        self.name = spec.label or "remote"
        self.caps = Capabilities()
        self._endpoint: Endpoint | None = None

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            s = self.spec
            return Endpoint(
                s.host,
                s.netbios_name or "?",
                s.share,
                s.username,
                "",
                s.domain,
                s.nbt_port,
                s.smb_port,
                s.ns_port,
            )
        return self._endpoint

    def describe(self) -> str:
        caps = ", ".join(
            k for k in ("nbstat", "nbt", "direct_445", "smb1") if getattr(self.caps, k)
        )
        return f"{self.spec.masked()} ({self.endpoint.netbios_name}; offers {caps or 'nothing'})"

    def start(self) -> None:
        s = self.spec
        password = read_password(s)
        # Resolved once, here: every probe then talks to the address, so no name lookup
        # is ever timed as server latency.
        addr = resolve_ipv4(s.host, RESOLVE_TIMEOUT_S)
        name = s.netbios_name
        try:
            status = node_status(addr, s.ns_port, DISCOVERY_TIMEOUT_S / 2)
            self.caps.nbstat = True
            name = name or status.server_name()
        except Exception as exc:  # noqa: BLE001 no answer, whatever the cause, is a note
            self.caps.notes.append(f"no NBSTAT answer on udp/{s.ns_port}: {type(exc).__name__}")
        if not name:
            raise InfraError(
                f"{s.host} does not answer NBSTAT with a server name; give it with "
                "?netbios_name=NAME"
            )
        try:
            request_session(addr, s.nbt_port, name, "NBTHPROBE", DISCOVERY_TIMEOUT_S)
            self.caps.nbt = True
        except ConnectionRefusedError:
            raise InfraError(f"{s.host}:{s.nbt_port} refused the connection (NBT closed)") from None
        except OSError as exc:
            raise InfraError(
                f"{s.host}:{s.nbt_port} is not a usable NBT session service: "
                f"{type(exc).__name__}: {exc}"[:300]
            ) from None
        except Exception as exc:  # noqa: BLE001 a service that speaks something else than NBT
            raise InfraError(f"{s.host}:{s.nbt_port} does not speak NBT: {exc}"[:300]) from None
        try:
            socket.create_connection((addr, s.smb_port), timeout=DISCOVERY_TIMEOUT_S).close()
            self.caps.direct_445 = True
        except ConnectionRefusedError:
            self.caps.notes.append(f"no direct TCP on {s.smb_port}: ConnectionRefusedError")
        except OSError as exc:  # not an answer: a tcp scenario tries again (and errors)
            self.caps.direct_445 = None
            self.caps.notes.append(f"direct TCP on {s.smb_port} unknown: {type(exc).__name__}")
        self._endpoint = Endpoint(
            addr, name, s.share, s.username, password, s.domain, s.nbt_port, s.smb_port, s.ns_port
        )
        self._check_login()

    def _login(self, dialect: str | None) -> None:
        """A login and tree connect within LOGIN_DEADLINE_S overall, in a child process that
        is killed at the deadline; InfraError (one line, password masked) otherwise."""
        endpoint = self._endpoint
        if endpoint is None:  # discovery sets it before any login
            raise RuntimeError("RemoteSamba._login before discovery")
        try:
            call_in_netns(None, _login_once, endpoint, dialect, timeout_s=LOGIN_DEADLINE_S)
        except InfraError as exc:
            text = str(exc).removeprefix("InfraError: ")
            if "did not finish within" in text:
                text = (
                    f"login to {self.spec.host}:{self.spec.nbt_port} did not complete "
                    f"within {LOGIN_DEADLINE_S:.0f}s"
                )
            if endpoint.password:
                text = text.replace(endpoint.password, "****")
            raise InfraError(text) from None

    def _check_login(self) -> None:
        """A login and tree connect over SMB 2/3. A server that answers without any SMB 2/3
        dialect (an SMB1-only one) is checked by its first nt1 scenario instead."""
        try:
            self._login(None)
        except InfraError as exc:
            text = str(exc)
            if text.startswith("NotOffered: "):
                self.caps.notes.append(f"no SMB 2/3: {text.removeprefix('NotOffered: ')}")
                return
            if any(
                code in text
                for code in (
                    "LOGON_FAILURE",
                    "ACCESS_DENIED",
                    "BAD_NETWORK_NAME",
                    "ACCOUNT",
                    "PASSWORD",
                )
            ):
                raise BadInput(f"{self.spec.masked()}: {text}") from None
            raise

    def offers(self, dialect: str, transport: str) -> str | None:
        why = super().offers(dialect, transport)
        if is_smb1(dialect):
            self.caps.smb1 = why is None
        return why

    def unsupported(self, scenario) -> str | None:
        for probe in scenario.probes:
            needs = PROBES[probe].capability
            if needs and not getattr(self.caps, needs, False):
                return (
                    f"{self.spec.host} does not offer {needs} (the {probe} probe); "
                    f"set probes.{probe}=0"
                )
        if scenario.transport == "tcp" and self.caps.direct_445 is False:
            return (
                f"{self.spec.host} does not offer direct TCP on {self.spec.smb_port} "
                "(transport tcp)"
            )
        if scenario.drop and (scenario.victims > 1 or scenario.schedule is not None):
            several = " and ".join(
                w
                for w, on in (
                    (f"victims = {scenario.victims}", scenario.victims > 1),
                    ("[schedule]", scenario.schedule is not None),
                )
                if on
            )
            return (  # else every drop would end unproven (error), after the whole run
                f"several drops ({several}) are each proven from the server's own TCP table, "
                f"which {self.spec.host} (a server the harness does not run) does not show; "
                "run them on local, docker or replica"
            )
        if scenario.drop and os.geteuid() != 0:  # else every drop would end unproven (error)
            return (
                f"drop {scenario.drop.mode} on {self.spec.host} is proven by a capture of the "
                f"victim's flow (AF_PACKET), which needs root; the harness runs as uid "
                f"{os.geteuid()}"
            )
        return None


def _login_once(endpoint: Endpoint, dialect: str | None) -> None:
    open_session(endpoint, "NBTHPROBE", DISCOVERY_TIMEOUT_S, dialect).close()


def resolve_ipv4(host: str, timeout_s: float) -> str:
    """The host's first IPv4 address, looked up once with a deadline (getaddrinfo has no
    timeout of its own: it runs in a daemon thread that is abandoned at the deadline)."""
    result: list = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0])
        except (OSError, UnicodeError, IndexError) as exc:
            result.append(exc)

    thread = threading.Thread(target=lookup, name="nbth-resolve", daemon=True)
    start_without_signals(thread)
    thread.join(timeout_s)
    if not result:
        raise InfraError(f"looking up host {host!r} took more than {timeout_s:.0f}s")
    if isinstance(result[0], BaseException):
        raise InfraError(f"unknown host {host!r}")
    return result[0]
