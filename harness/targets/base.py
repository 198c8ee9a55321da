"""What every target offers the runner: an endpoint, client hosts, and server-side evidence."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    """How clients reach the server. The password never appears in repr or reports."""

    host: str
    netbios_name: str
    share: str
    username: str
    password: str = field(repr=False, default="")
    domain: str = ""
    nbt_port: int = 139  # NetBIOS session service (TCP)
    smb_port: int = 445  # direct SMB (TCP)
    ns_port: int = 137  # NetBIOS name service (UDP)

    def describe(self) -> str:
        user = f"{self.domain};{self.username}" if self.domain else self.username
        return f"smb://{user}@{self.host}:{self.nbt_port}/{self.share} ({self.netbios_name})"


@dataclass(frozen=True)
class ServerSocket:
    """One row of the server's TCP table, as seen from the server's own network namespace."""

    state: str
    recv_q: int
    send_q: int
    local: str  # "addr:port"
    peer: str  # "addr:port"
    info: dict = field(default_factory=dict)  # tcp_info fields (bytes_received, retrans, ...)

    def to_json(self) -> dict:
        return {"state": self.state, "recv_q": self.recv_q, "send_q": self.send_q,
                "local": self.local, "peer": self.peer, "info": self.info}


class Target(abc.ABC):
    """A server under test. Subclasses start what they own and remove it on stop()."""

    name: str = "target"

    @property
    @abc.abstractmethod
    def endpoint(self) -> Endpoint: ...

    def start(self) -> None:
        """Bring the server up and wait until it answers; raise InfraError otherwise."""

    def stop(self) -> None:
        """Remove everything start() created. Idempotent; called on every exit path."""

    def client_netns(self, role: str) -> str | None:
        """The network namespace a client of this role runs in (None: the harness's own)."""
        return None

    def server_sockets(self) -> list[ServerSocket] | None:
        """The server's TCP table, or None where the harness cannot look inside the server."""
        return None

    def logs(self) -> str:
        """Recent server logs, for a report of a failed or errored scenario."""
        return ""

    def unsupported(self, scenario) -> str | None:
        """Why this target cannot run the scenario (it is skipped with that reason), or None."""
        return None

    def server_events(self) -> list[dict]:
        """Events the server side logged since the last call (e.g. the replica's triggers),
        each with ``t_monotonic``; the runner puts them into the history."""
        return []

    def server_version(self) -> str | None:
        """The server's software and version where the harness can know it (e.g. 'Samba
        4.17.12-Debian'), for the report's ``server`` field; None where it cannot."""
        return None

    def describe(self) -> str:
        return f"{self.name}: {self.endpoint.describe()}"

    def __enter__(self) -> "Target":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
