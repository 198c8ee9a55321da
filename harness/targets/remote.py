"""Servers the harness does not start: a lab Windows host, or any SMB/NBT server, given as
``smb://[DOMAIN;]USER@HOST[:PORT]/SHARE[?netbios_name=N&ns_port=P&smb_port=P&password_file=F]``
or by name from a targets file. The password comes from ``NBT_HARNESS_PASSWORD`` or the
password file, never from the command line, and is never printed.

Before any scenario the harness discovers what the host offers (NBSTAT on the name-service
port, NBT on the session port, direct TCP on 445, a login and tree connect, SMB1) and skips
scenarios that need what it lacks. It cannot look inside such a server, so drops that need
server-side evidence end as ``error`` unless a drop can prove itself from the harness's side.
"""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from harness.errors import BadInput, InfraError
from harness.targets.base import Endpoint, Target

PASSWORD_ENV = "NBT_HARNESS_PASSWORD"
CONFIG_ENV = "NBT_HARNESS_CONFIG"
DEFAULT_CONFIG = "nbt-harness.toml"
DISCOVERY_TIMEOUT_S = 3.0
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


def _port(value, what: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"invalid {what} {value!r}: expected a port number") from None
    if not 0 < port < 65536:
        raise BadInput(f"invalid {what} {port}: out of range")
    return port


def parse_smb_url(text: str, label: str = "") -> RemoteSpec:
    """Parse an smb:// target URL (pure). The error never repeats a password."""
    parts = urlsplit(text)
    if parts.scheme != "smb":
        raise BadInput("a remote target is smb://[DOMAIN;]USER@HOST[:PORT]/SHARE")
    if parts.password is not None:
        raise BadInput(f"do not put the password in the target URL; set {PASSWORD_ENV} "
                       "or password_file")
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
        raise BadInput(f"unknown target option(s): {', '.join(sorted(unknown))} "
                       f"(known: {', '.join(sorted(URL_OPTIONS))})")
    return RemoteSpec(host=parts.hostname, share=share, username=user, domain=domain,
                      nbt_port=_port(nbt_port, "port"),
                      smb_port=_port(query.get("smb_port", 445), "smb_port"),
                      ns_port=_port(query.get("ns_port", 137), "ns_port"),
                      netbios_name=query.get("netbios_name"),
                      password_file=query.get("password_file"), label=label)


def load_named_targets(path: Path) -> dict[str, RemoteSpec]:
    """``[targets.NAME]`` tables with ``url`` and optional netbios_name, ns_port, smb_port,
    password_file (relative to the file)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None
    out = {}
    for name, table in (data.get("targets") or {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("url"), str):
            raise BadInput(f"{path}: [targets.{name}] needs url = \"smb://...\"")
        unknown = set(table) - URL_OPTIONS - {"url", "description"}
        if unknown:
            raise BadInput(f"{path}: [targets.{name}]: unknown key(s) {', '.join(sorted(unknown))}")
        spec = parse_smb_url(table["url"], label=name)
        pw_file = table.get("password_file", spec.password_file)
        if pw_file and not os.path.isabs(pw_file):
            pw_file = str(Path(path).resolve().parent / pw_file)
        out[name] = RemoteSpec(**{**spec.__dict__,
                                  "netbios_name": table.get("netbios_name", spec.netbios_name),
                                  "ns_port": _port(table.get("ns_port", spec.ns_port), "ns_port"),
                                  "smb_port": _port(table.get("smb_port", spec.smb_port), "smb_port"),
                                  "password_file": pw_file})
    return out


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


_env_password: str | None = None


def take_password_env() -> str | None:
    """``NBT_HARNESS_PASSWORD``, taken out of the environment: the value is kept here and the
    variable removed from os.environ, so no child process the harness starts (smbd, ip,
    iptables, nsenter, docker, the replica, ...) inherits it. Called once at start-up by the
    command and the pytest plugin; a later assignment to the variable is taken as well."""
    global _env_password
    value = os.environ.pop(PASSWORD_ENV, None)
    if value is not None:
        _env_password = value
    return _env_password


def forget_password_env() -> None:
    """Drop a password taken from the environment (tests)."""
    global _env_password
    _env_password = None


def read_password(spec: RemoteSpec) -> str:
    if spec.password_file:
        try:
            return Path(spec.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise BadInput(f"cannot read the password file {spec.password_file}: {exc.strerror}") from None
    password = take_password_env()
    if password is not None:
        return password
    raise BadInput(f"no password for {spec.masked()}: set {PASSWORD_ENV} or password_file")


@dataclass
class Capabilities:
    nbstat: bool = False
    nbt: bool = False
    direct_445: bool = False
    smb1: bool = False
    notes: list[str] = field(default_factory=list)


class RemoteTarget(Target):
    name = "remote"

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec
        self.name = spec.label or "remote"
        self.caps = Capabilities()
        self._endpoint: Endpoint | None = None

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            s = self.spec
            return Endpoint(s.host, s.netbios_name or "?", s.share, s.username, "", s.domain,
                            s.nbt_port, s.smb_port, s.ns_port)
        return self._endpoint

    def describe(self) -> str:
        caps = ", ".join(k for k in ("nbstat", "nbt", "direct_445", "smb1") if getattr(self.caps, k))
        return f"{self.spec.masked()} ({self.endpoint.netbios_name}; offers {caps or 'nothing'})"

    def start(self) -> None:
        from harness.probes.nbstat import node_status
        from harness.probes.nbt_session import request_session

        s = self.spec
        password = read_password(s)
        try:
            socket.getaddrinfo(s.host, None, socket.AF_INET)
        except socket.gaierror:
            raise InfraError(f"unknown host {s.host!r}") from None
        name = s.netbios_name
        try:
            status = node_status(s.host, s.ns_port, DISCOVERY_TIMEOUT_S / 2)
            self.caps.nbstat = True
            name = name or status.server_name()
        except Exception as exc:
            self.caps.notes.append(f"no NBSTAT answer on udp/{s.ns_port}: {type(exc).__name__}")
        if not name:
            raise InfraError(f"{s.host} does not answer NBSTAT with a server name; give it with "
                             "?netbios_name=NAME")
        try:
            request_session(s.host, s.nbt_port, name, "NBTHPROBE", DISCOVERY_TIMEOUT_S)
            self.caps.nbt = True
        except ConnectionRefusedError:
            raise InfraError(f"{s.host}:{s.nbt_port} refused the connection (NBT closed)") from None
        except OSError as exc:
            raise InfraError(f"{s.host}:{s.nbt_port} is not a usable NBT session service: "
                             f"{type(exc).__name__}: {exc}"[:300]) from None
        except Exception as exc:  # a service that answers with something else than NBT
            raise InfraError(f"{s.host}:{s.nbt_port} does not speak NBT: {exc}"[:300]) from None
        try:
            socket.create_connection((s.host, s.smb_port), timeout=DISCOVERY_TIMEOUT_S).close()
            self.caps.direct_445 = True
        except OSError as exc:
            self.caps.notes.append(f"no direct TCP on {s.smb_port}: {type(exc).__name__}")
        self._endpoint = Endpoint(s.host, name, s.share, s.username, password, s.domain,
                                  s.nbt_port, s.smb_port, s.ns_port)
        self._check_login()
        self.caps.smb1 = self._try_smb1()

    def _check_login(self) -> None:
        from harness.clients.session import open_session

        try:
            open_session(self._endpoint, "NBTHPROBE", DISCOVERY_TIMEOUT_S).close()
        except InfraError as exc:
            text = str(exc)
            if any(code in text for code in ("LOGON_FAILURE", "ACCESS_DENIED", "BAD_NETWORK_NAME",
                                              "ACCOUNT", "PASSWORD")):
                raise BadInput(f"{self.spec.masked()}: {text}") from None
            raise

    def _try_smb1(self) -> bool:
        from harness.clients.session import open_session

        try:
            open_session(self._endpoint, "NBTHPROBE", DISCOVERY_TIMEOUT_S, "smb1").close()
            return True
        except InfraError:
            return False

    def unsupported(self, scenario) -> str | None:
        if scenario.rates_hz.get("nbstat", 0) > 0 and not self.caps.nbstat:
            return f"{self.spec.host} does not answer NBSTAT (the nbstat probe); set probes.nbstat=0"
        if scenario.dialect == "smb1" and not self.caps.smb1:
            return f"{self.spec.host} does not offer SMB1"
        return None
