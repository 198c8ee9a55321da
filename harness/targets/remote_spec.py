"""A server the harness does not start, as the user names it: an
``smb://[DOMAIN;]USER@HOST[:PORT]/SHARE[?netbios_name=N&ns_port=P&smb_port=P&password_file=F]``
URL, or a name from the targets file (``[targets.NAME]`` tables). Parsing only (pure but for
reading the targets file): the server itself is harness.targets.remote. No password is ever
taken from the URL (harness.targets.password).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from harness.errors import BadInput
from harness.files import read_trusted_text
from harness.targets.password import PASSWORD_ENV

CONFIG_ENV = "NBT_HARNESS_CONFIG"
DEFAULT_CONFIG = "nbt-harness/targets.toml"  # under the configuration directory
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
