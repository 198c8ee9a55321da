"""What every target offers the runner: an endpoint, client hosts, and server-side evidence."""

from __future__ import annotations

import abc
from typing import Self

from harness.clients.connect import offers
from harness.dialects import exact, label
from harness.errors import InfraError
from harness.lab.inns import call_in_netns
from harness.server import Endpoint, ServerSocket  # what every target describes

OFFERS_TIMEOUT_S = 5.0  # one connect + NEGOTIATE


class Target(abc.ABC):
    """A server under test. Subclasses start what they own and remove it on stop()."""

    name: str = "target"
    kind: str = "target"  # the registry's kind (local, replica, docker, remote): per-target bounds
    # The harness configures this server to grant every holding (harness.clients.holdings):
    # one it refuses is an error. A server it does not configure may lack one: a skip.
    grants_every_holding: bool = True
    # The harness configures this server itself (embedded, docker, replica): it offers every
    # dialect and transport, so one it does not offer is an error, never a skip.
    configured_by_harness: bool = True

    @classmethod
    def from_spec(
        cls, spec, hold_s: float | None = None, degrade_ms: float | None = None
    ) -> Target:
        """The target a parsed target string names (harness.targets.spec); the replica's
        options are ignored by the others."""
        return cls()

    @property
    @abc.abstractmethod
    def endpoint(self) -> Endpoint: ...

    def start(self) -> None:  # noqa: B027 a do-nothing default, overridden where needed
        """Bring the server up and wait until it answers; raise InfraError otherwise."""

    def stop(self) -> None:  # noqa: B027 a do-nothing default, overridden where needed
        """Remove everything start() created. Idempotent; called on every exit path."""

    def client_netns(self, role: str) -> str | None:
        """The network namespace a client of this role runs in (None: the harness's own)."""
        return None

    def server_sockets(self) -> list[ServerSocket] | None:
        """The server's TCP table, or None where the harness cannot look inside the server."""
        return None

    def server_flow(self, local: str, peer: str) -> list[ServerSocket] | None:
        """The server's socket of one connection (``local``: the server's side of it) as a
        list of at most one row, [] once it is gone, None where the harness cannot look
        inside. Polled during the judged phases: targets that can should answer it without
        walking the whole table or starting a process."""
        rows = self.server_sockets()
        return None if rows is None else [r for r in rows if r.local == local and r.peer == peer]

    def server_tables(self) -> dict | None:
        """The server's own open, lock, oplock and lease tables as ``smbstatus --json
        --byterange`` gives them (harness.lab.smbstatus), or None where the harness cannot ask
        (a server it does not run, or one without the tool). Sampled a few times a scenario:
        it may start a process."""
        return None

    def logs(self) -> str:
        """Recent server logs, for a report of a failed or errored scenario."""
        return ""

    def unsupported(self, scenario) -> str | None:
        """Why this target cannot run the scenario (it is skipped with that reason), or None."""
        return None

    def offers(self, dialect: str, transport: str) -> str | None:
        """Why the server does not give this dialect over this transport (it answered the
        NEGOTIATE with an error or another dialect, or SMB1 without extended security), or
        None: one NEGOTIATE from the healthy clients' host. Only answers are remembered (per
        combination, for this target's life); the scenario is skipped with that reason
        (never a silent fallback to another dialect). A network error (refused, reset, timed
        out) is an InfraError, never remembered; so is a missing offer on a server the
        harness configures itself (configured_by_harness), which must offer everything."""
        cache = self.__dict__.setdefault("_offers", {})
        key = (exact(dialect), transport)
        if key not in cache:
            try:
                why = call_in_netns(
                    self.client_netns("healthy"),
                    offers,
                    self.endpoint,
                    dialect,
                    transport,
                    OFFERS_TIMEOUT_S,
                    timeout_s=2 * OFFERS_TIMEOUT_S,
                )
            except InfraError as exc:  # no answer: an error, not remembered
                why = str(exc).removeprefix("InfraError: ")
                raise InfraError(
                    f"target {self.name}: no answer to a NEGOTIATE for "
                    f"{label(dialect)} over {transport}: {why}"
                ) from None
            if why:
                why = f"target {self.name} does not offer {label(dialect)} over {transport}: {why}"
            cache[key] = why
        if cache[key] and self.configured_by_harness:
            raise InfraError(cache[key])
        return cache[key]

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

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
