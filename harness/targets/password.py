"""The password of a target the harness does not start (an smb:// URL or a named target):
from its password file (checked like every file the harness trusts) or from
``NBT_HARNESS_PASSWORD``, which is taken out of the environment at start so that no child
process inherits it. Every password read is remembered, so that a crash report can mask it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from harness.errors import BadInput
from harness.files import read_trusted_text

PASSWORD_ENV = "NBT_HARNESS_PASSWORD"


class PasswordHolder(Protocol):
    """What a target's spec says of its password (harness.targets.remote_spec.RemoteSpec)."""

    @property
    def password_file(self) -> str | None: ...

    def masked(self) -> str: ...


_env_password: str | None = None
_seen: set[str] = set()


def take_password_env() -> str | None:
    """``NBT_HARNESS_PASSWORD``, taken out of the environment: the value is kept here and the
    variable removed from os.environ, so no child process the harness starts (smbd, ip,
    iptables, nsenter, docker, the replica, ...) inherits it. Called once at start-up by the
    command and the pytest plugin; a later assignment to the variable is taken as well."""
    global _env_password
    value = os.environ.pop(PASSWORD_ENV, None)
    if value is not None:
        _env_password = value
        _seen.add(value)
    return _env_password


def give_password(value: str) -> None:
    """The password as if taken from the environment: a pytest-xdist worker gets it from its
    controller, which took it out of the environment before starting the worker."""
    global _env_password
    _env_password = value
    _seen.add(value)


def passwords_seen() -> set[str]:
    """Every password this process has read (environment, password files): what a crash
    report masks."""
    return {p for p in _seen if p}


def forget_password_env() -> None:
    """Drop a password taken from the environment (tests)."""
    global _env_password
    _env_password = None


def read_password(spec: PasswordHolder) -> str:
    """The target's password: its password file's first line, else the environment's."""
    if spec.password_file:
        try:
            password = read_trusted_text(
                Path(spec.password_file), "the password file", secret=True
            ).rstrip("\r\n")
            _seen.add(password)
            return password
        except OSError as exc:
            raise BadInput(
                f"cannot read the password file {spec.password_file}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise BadInput(f"the password file {spec.password_file} is not UTF-8 text") from None
    env_password = take_password_env()
    if env_password is not None:
        return env_password
    raise BadInput(f"no password for {spec.masked()}: set {PASSWORD_ENV} or password_file")
