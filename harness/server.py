"""What the harness knows of a server under test, whatever the target: how clients reach it
(Endpoint) and one row of its TCP table (ServerSocket). Plain data, imported by every layer
that talks to or looks at a server."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
        """Its fields by name, in order (report.json's ``server_socket_before``)."""
        return asdict(self)
