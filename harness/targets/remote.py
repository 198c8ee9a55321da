"""Servers the harness does not start: a lab Windows host, or any SMB/NBT server, given as
``smb://[DOMAIN;]USER@HOST[:PORT]/SHARE[?netbios_name=N&ns_port=P&smb_port=P&password_file=F]``
or by name from a targets file. The password comes from ``NBT_HARNESS_PASSWORD`` or the
password file, never from the command line, and is never printed.

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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from harness.clients.session import open_session
from harness.dialects import is_smb1
from harness.errors import BadInput, InfraError
from harness.files import read_trusted_text
from harness.lab.inns import call_in_netns, start_without_signals
from harness.probes import PROBES
from harness.probes.nbstat import node_status
from harness.probes.nbt_session import request_session
from harness.targets.base import Endpoint, Target
from harness.targets.password import PASSWORD_ENV, read_password

CONFIG_ENV = "NBT_HARNESS_CONFIG"
DEFAULT_CONFIG = "nbt-harness/targets.toml"  # under the configuration directory
DISCOVERY_TIMEOUT_S = 3.0  # per network operation of the discovery
LOGIN_DEADLINE_S = 3 * DISCOVERY_TIMEOUT_S  # a whole login + tree connect (a server that
# trickles bytes or keep-alives would otherwise hold each operation just under its timeout)
RESOLVE_TIMEOUT_S = 5.0
URL_OPTIONS = {"netbios_name", "ns_port", "smb_port", "password_file"}


@dataclass(frozen=True)
class RemoteSpec:
    host: str
    share: str
    username: str
    domain: str = ""
    nbt_port: int = 139
    smb_port: int = 445
    ns_port: int = 137
    netbios_name: str | None = None
    password_file: str | None = None
    label: str = ""

    def masked(self) -> str:
        user = f"{self.domain};{self.username}" if self.domain else self.username
        return f"smb://{user}@{self.host}:{self.nbt_port}/{self.share}"


def _netbios_name(name: str) -> str:
    if not 1 <= len(name) <= 15 or not name.isascii() or not name.isprintable():
        raise BadInput(f"invalid netbios_name {name[:40]!r}: 1 to 15 printable ASCII characters")
    return name


def _port(value, what: str) -> int:
    if isinstance(value, bool):
        raise BadInput(f"invalid {what} {value!r}: expected a port number")
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"invalid {what} {value!r}: expected a port number") from None
    if not 0 < port < 65536:
        raise BadInput(f"invalid {what} {port}: out of range")
    return port


def parse_smb_url(text: str, label: str = "") -> RemoteSpec:
    """Parse an smb:// target URL (pure). The error never repeats a password."""
    try:
        parts = urlsplit(text)
        parts.hostname, parts.username, parts.password  # noqa: B018 (they parse lazily)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        raise BadInput(
            "the target URL does not parse: smb://[DOMAIN;]USER@HOST[:PORT]/SHARE"
        ) from None
    if parts.scheme != "smb":
        raise BadInput("a remote target is smb://[DOMAIN;]USER@HOST[:PORT]/SHARE")
    if parts.password is not None:
        raise BadInput(
            f"do not put the password in the target URL; set {PASSWORD_ENV} or password_file"
        )
    if not parts.username or not parts.hostname:
        raise BadInput("a remote target needs USER@HOST: smb://[DOMAIN;]USER@HOST[:PORT]/SHARE")
    domain, _, user = unquote(parts.username).rpartition(";")
    share = parts.path.strip("/")
    if not share or "/" in share:
        raise BadInput("a remote target needs exactly one share: smb://USER@HOST/SHARE")
    try:
        nbt_port = parts.port or 139
    except ValueError:
        raise BadInput("invalid port in the target URL") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - URL_OPTIONS
    if unknown:
        raise BadInput(
            f"unknown target option(s): {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(URL_OPTIONS))})"
        )
    return RemoteSpec(
        host=parts.hostname,
        share=share,
        username=user,
        domain=domain,
        nbt_port=_port(nbt_port, "port"),
        smb_port=_port(query.get("smb_port", 445), "smb_port"),
        ns_port=_port(query.get("ns_port", 137), "ns_port"),
        netbios_name=(_netbios_name(query["netbios_name"]) if "netbios_name" in query else None),
        password_file=query.get("password_file"),
        label=label,
    )


def load_named_targets(path: Path) -> dict[str, RemoteSpec]:
    """``[targets.NAME]`` tables with ``url`` and optional netbios_name, ns_port, smb_port,
    password_file (relative to the file)."""
    try:
        data = tomllib.loads(read_trusted_text(Path(path), "the targets file"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    except OSError as exc:  # a directory, no permission
        raise BadInput(f"{path}: cannot read the targets file: {exc.strerror}") from None
    out = {}
    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        raise BadInput(f"{path}: 'targets' must be tables: [targets.NAME] with url = \"smb://...\"")
    for name, table in targets.items():
        if not isinstance(table, dict) or not isinstance(table.get("url"), str):
            raise BadInput(f'{path}: [targets.{name}] needs url = "smb://..."')
        unknown = set(table) - URL_OPTIONS - {"url", "description"}
        if unknown:
            raise BadInput(f"{path}: [targets.{name}]: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("netbios_name", "password_file", "description"):
            if key in table and not isinstance(table[key], str):
                raise BadInput(f"{path}: [targets.{name}]: {key} must be a string")
        if "netbios_name" in table:
            _netbios_name(table["netbios_name"])
        spec = parse_smb_url(table["url"], label=name)
        pw_file = table.get("password_file", spec.password_file)
        if pw_file and not os.path.isabs(pw_file):
            pw_file = str(Path(path).resolve().parent / pw_file)
        out[name] = RemoteSpec(
            **{
                **spec.__dict__,
                "netbios_name": table.get("netbios_name", spec.netbios_name),
                "ns_port": _port(table.get("ns_port", spec.ns_port), "ns_port"),
                "smb_port": _port(table.get("smb_port", spec.smb_port), "smb_port"),
                "password_file": pw_file,
            }
        )
    return out


def config_path() -> Path:
    """The targets file: ``$NBT_HARNESS_CONFIG``, else ``nbt-harness/targets.toml`` in the
    user's configuration directory ($XDG_CONFIG_HOME, else ~/.config); never the current
    directory (a file someone left there would name the hosts and password files)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / DEFAULT_CONFIG


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
