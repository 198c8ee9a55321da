"""Timing probes: one operation each, with a per-operation timeout. Timing is the worker's job.

The registry below is the only list of probes: a new probe is one new file (a class with
``from_context(ctx)``, ``open()``, ``invoke()``, ``close()``) plus one line here. Scenarios,
the worker, the runner and the remote target read what they need from it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from harness.server import Endpoint

# A ``from_drop`` probe's first operation comes this long after the drop's start: the drop
# itself takes a moment (a blackhole's READs and cut, longer on a loaded machine), and an
# open that reaches a victim still connected breaks a live holder's oplock (whose kernel
# TCP-acks the break, so the server then waits for its 30 s break timeout).
FROM_DROP_AFTER_S = 0.5


@dataclass(frozen=True)
class ProbeKind:
    name: str
    default_rate_hz: float
    needs_session: bool  # runs on an established SMB session of its own (else session-less)
    capability: str | None  # what a remote target must offer: nbstat | nbt (None: a session)
    impl: str  # "module:Class", imported only by the process that runs the probe
    description: str = ""
    poolable: bool = False  # many sessions of it can share one process (harness.procs.pool)
    # A default that a crowd (more healthy clients than processes allowed) goes without while
    # it is at its default rate; any other rate still needs a process per client.
    off_in_crowds: bool = False
    # runs only from the fault phase on (it would disturb the victim's set-up)
    from_drop: bool = False
    judged_by_access: bool = False  # judged by time-to-access (checkers.access), not latency bounds
    # Runs in each healthy client's one shared prober process (``c<N>_shared``), in a thread
    # and (if it needs one) on a session of its own: a stalled request class stalls only its
    # own thread, and the client's request classes cost one process, not one each.
    shared: bool = False
    # Why a probe's default rate is 0: every other probe runs in every phase of the default
    # run (tests/unit/test_probe_registry.py holds the registry to it).
    off_by_default_reason: str = ""
    # Its latency floors are this many times the scenario's default (unless the scenario
    # bounds it itself): an operation of several round trips in a row (a logon: six, and a
    # process forked on the server) meets the machine's scheduling noise at each
    # (harness.checkers.bounds.Bounds.floor_scale).
    floor_scale: float = 1.0

    def load(self) -> Any:
        module, _, cls = self.impl.partition(":")
        return getattr(importlib.import_module(module), cls)


@dataclass(frozen=True)
class ProbeContext:
    """What a probe is built from, in the client process that runs it."""

    endpoint: Endpoint
    client: str  # the client process's name (c1_smb_rw, nbstat, ...)
    timeout_s: float
    session: Any = None  # harness.clients.session.Session, for probes that need one
    dialect: str | None = None  # the scenario's (harness.dialects), for probes that log on
    transport: str = "nbt"  # nbt (139, session request) | tcp (445)
    holds: str | None = None  # what the victim holds (scenario [victim] holds), if anything
    held_file: str | None = None  # the file it holds it on (harness.clients.holdings)


PROBES: dict[str, ProbeKind] = {
    k.name: k
    for k in (
        ProbeKind(
            "nbstat",
            20.0,
            False,
            "nbstat",
            "harness.probes.nbstat:NodeStatusProbe",
            "Adapter Status (NODE STATUS) on UDP 137",
        ),
        ProbeKind(
            "nbt_session",
            10.0,
            False,
            "nbt",
            "harness.probes.nbt_session:SessionRequestProbe",
            "new TCP connection + NBT SESSION REQUEST",
        ),
        ProbeKind(
            "smb_echo",
            10.0,
            True,
            None,
            "harness.probes.smb_echo:EchoProbe",
            "SMB ECHO on an established session",
            poolable=True,
        ),
        ProbeKind(
            "smb_rw",
            4.0,
            True,
            None,
            "harness.probes.smb_rw:ReadWriteProbe",
            "512-byte write + read-back of the client's own file",
        ),
        ProbeKind(
            "smb_open",
            4.0,
            True,
            None,
            "harness.probes.smb_open:OpenProbe",
            "open (create if needed) + close of the client's own file",
            off_in_crowds=True,
        ),
        ProbeKind(
            "smb_lock",
            2.0,
            True,
            None,
            "harness.probes.smb_lock:LockProbe",
            "exclusive byte-range lock + unlock on the client's own open file",
            off_in_crowds=True,
            shared=True,
        ),
        ProbeKind(
            "smb_contend",
            0.0,
            True,
            None,
            "harness.probes.smb_contend:ContendedOpenProbe",
            "open (and close) of the file the victim holds, conflicting with its holding",
            from_drop=True,
            judged_by_access=True,
            off_by_default_reason="it needs a holding ([victim] holds): the holdings "
            "scenarios turn it on",
        ),
        ProbeKind(
            "smb_logon",
            1.0,
            False,
            None,
            "harness.probes.smb_logon:LogonProbe",
            "new connection: NBT session request (or direct TCP), NEGOTIATE, SESSION_SETUP, "
            "TREE_CONNECT, LOGOFF",
            off_in_crowds=True,
            shared=True,
            floor_scale=3.0,
        ),
        ProbeKind(
            "smb_list",
            2.0,
            True,
            None,
            "harness.probes.smb_list:ListProbe",
            "QUERY_DIRECTORY of the client's own directory of a few files",
            off_in_crowds=True,
            shared=True,
        ),
        ProbeKind(
            "smb_stat",
            2.0,
            True,
            None,
            "harness.probes.smb_stat:StatProbe",
            "QUERY_INFO (standard information) of the client's own open file",
            off_in_crowds=True,
            shared=True,
        ),
        ProbeKind(
            "smb_meta",
            1.0,
            True,
            None,
            "harness.probes.smb_meta:MetadataProbe",
            "truncate, flush, rename, delete + undelete (SET_INFO, FLUSH) of the client's "
            "own open file",
            off_in_crowds=True,
            shared=True,
            floor_scale=2.0,
        ),
        ProbeKind(
            "rpc_shares",
            1.0,
            True,
            None,
            "harness.probes.rpc_shares:ShareEnumProbe",
            "srvsvc NetrShareEnum over IPC$ (DCE/RPC on a named pipe)",
            off_in_crowds=True,
            shared=True,
            floor_scale=2.0,
        ),
        ProbeKind(
            "nb_query",
            2.0,
            False,
            "nbstat",
            "harness.probes.nb_query:NameQueryProbe",
            "NetBIOS NAME QUERY for the server's name <20> on UDP 137",
            off_in_crowds=True,
            shared=True,
        ),
    )
}


def off_without_reason(kinds) -> list[str]:
    """The probes among ``kinds`` that are off by default (rate 0) and do not say why: the
    registry's rule is that the default run exercises every request class it can."""
    return [k.name for k in kinds if k.default_rate_hz <= 0 and not k.off_by_default_reason.strip()]
