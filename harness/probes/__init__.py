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
# itself takes up to ~0.16 s (a blackhole's READs and cut, seen on a loaded machine), and an
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
    from_drop: bool = False  # runs only from the fault phase on (it would disturb the victim's set-up)
    judged_by_access: bool = False  # judged by time-to-access (checkers.access), not latency bounds

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
    holds: str | None = None  # what the victim holds (scenario [victim] holds), if anything
    held_file: str | None = None  # the file it holds it on (harness.clients.holdings)


PROBES: dict[str, ProbeKind] = {k.name: k for k in (
    ProbeKind("nbstat", 20.0, False, "nbstat", "harness.probes.nbstat:NodeStatusProbe",
              "Adapter Status (NODE STATUS) on UDP 137"),
    ProbeKind("nbt_session", 10.0, False, "nbt", "harness.probes.nbt_session:SessionRequestProbe",
              "new TCP connection + NBT SESSION REQUEST"),
    ProbeKind("smb_echo", 10.0, True, None, "harness.probes.smb_echo:EchoProbe",
              "SMB ECHO on an established session", poolable=True),
    ProbeKind("smb_rw", 4.0, True, None, "harness.probes.smb_rw:ReadWriteProbe",
              "512-byte write + read-back of the client's own file"),
    ProbeKind("smb_open", 4.0, True, None, "harness.probes.smb_open:OpenProbe",
              "open (create if needed) + close of the client's own file", off_in_crowds=True),
    ProbeKind("smb_lock", 0.0, True, None, "harness.probes.smb_lock:LockProbe",
              "exclusive byte-range lock + unlock on the client's own open file"),
    ProbeKind("smb_contend", 0.0, True, None, "harness.probes.smb_contend:ContendedOpenProbe",
              "open (and close) of the file the victim holds, conflicting with its holding",
              from_drop=True, judged_by_access=True),
)}
