"""What the victim holds on a shared file when it drops (a scenario's ``[victim] holds``).

The victim process takes the holding at set-up, before the run starts, on the run's held
file ``nbth-held-<runner pid>-<run tag>.dat`` (``held_file_name``): the healthy clients'
contended probe (``smb_contend``) opens that same file. On the wire, every holding is one SMB2
CREATE of the held file (plus a LOCK for ``byte_range_lock``), built here because impacket
neither sends leases or durable requests nor returns what the server granted:

| holding | CREATE | what another opener meets |
| --- | --- | --- |
| ``batch_oplock`` | RequestedOplockLevel BATCH (0x09) | an oplock break to the holder |
| ``exclusive_oplock`` | RequestedOplockLevel EXCLUSIVE (0x08) | an oplock break to the holder |
| ``lease_rwh`` | LEASE + "RqLs" (v1 on SMB 2.1, v2 on 3.x), state RWH | a lease break first |
| ``byte_range_lock`` | no oplock; LOCK exclusive of bytes 0-4095 | FILE_LOCK_CONFLICT on a write |
| ``deny_write`` | share mode READ only, write access | SHARING_VIOLATION on a write open |
| ``durable_v1`` | BATCH + "DHnQ" | the handle kept for the server's v1 timeout |
| ``durable_v2`` | BATCH + "DH2Q" (Timeout ``durable_timeout_ms``) | the handle kept that long |

Every holding but ``byte_range_lock`` opens with share mode READ only, so a disconnected
handle that the server keeps still conflicts with an opener that wants to write. A holding
the server did not grant (a lower oplock, no lease, no durable context in the answer) is a
set-up error naming what was granted (``NotGranted``): a scenario never runs on a holding it
does not have. Where the harness configured the server to grant every holding (the embedded
and docker Samba) that is an ``error``; a server it does not configure (a URL target) may
simply not offer it (leases off, no durable handles on the share): the scenario is skipped
with that line.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from harness.clients.smbops import lock, smb2_call
from harness.packets.smb2_create import (
    LEASE_RWH,
    chain,
    durable_v1,
    durable_v2,
    lease_state,
    lease_v1,
    lease_v2,
    parse_create_response,
)

OPLOCK_NONE, OPLOCK_EXCLUSIVE, OPLOCK_BATCH, OPLOCK_LEASE = 0x00, 0x08, 0x09, 0xFF
LOCKED_BYTES = 4096  # byte_range_lock: bytes 0..4095 of the held file
HELD_FILE_BYTES = 4096


@dataclass(frozen=True)
class Holding:
    name: str
    min_dialect: str  # the lowest SMB dialect that can express it ([MS-SMB2] 1.7, 2.2.13.2)
    description: str


# The one list of holdings (a scenario's [victim] holds). Every holding is taken with SMB2
# requests (none over SMB1); leases need 2.1, durable v2 handles 3.0.
HOLDINGS: dict[str, Holding] = {
    h.name: h
    for h in (
        Holding("batch_oplock", "2.0.2", "a batch oplock on the held file"),
        Holding("exclusive_oplock", "2.0.2", "an exclusive oplock on the held file"),
        Holding("lease_rwh", "2.1", "an RWH lease on the held file"),
        Holding("byte_range_lock", "2.0.2", "an exclusive byte-range lock of bytes 0-4095"),
        Holding("deny_write", "2.0.2", "an open that denies writers (share mode READ)"),
        Holding("durable_v1", "2.0.2", "a durable (v1) handle with a batch oplock"),
        Holding("durable_v2", "3.0", "a durable (v2) handle with a batch oplock"),
    )
}
# Scenario dialect names (and the matrix's exact names and aliases) by protocol order.
DIALECT_RANK = {
    "nt1": 0,
    "smb1": 0,
    "2.0.2": 1,
    "smb2.0.2": 1,
    "2.1": 2,
    "smb2.1": 2,
    "smb2": 2,
    "3.0": 3,
    "smb3.0": 3,
    "3.1.1": 4,
    "smb3.1.1": 4,
    "smb3": 4,
}


@dataclass(frozen=True)
class HeldOpen:
    """The open a holding left on the victim's session (``Session.held``): what a drop that
    reclaims it needs (harness.drops.reclaim)."""

    holds: str
    file: str
    file_id: bytes  # 16 bytes: FileId.Persistent, FileId.Volatile
    create_guid: bytes = b""  # durable_v2: the CreateGuid of its DH2Q


class NotGranted(ValueError):
    """The server granted less than the holding asked for (a lower oplock, no lease, no
    durable context): the victim cannot hold what the scenario says."""


def holding_problem(holds: str, dialect: str) -> str | None:
    """Why a scenario cannot hold ``holds`` over ``dialect`` (bad input), or None."""
    if holds not in HOLDINGS:
        return f"unknown holding {holds!r} (known: {', '.join(HOLDINGS)})"
    need = HOLDINGS[holds].min_dialect
    if dialect in DIALECT_RANK and DIALECT_RANK[dialect] < DIALECT_RANK[need]:
        return f"holding {holds} needs SMB {need} or later, the scenario's dialect is {dialect}" + (
            " (holdings are taken with SMB2 requests)" if DIALECT_RANK[dialect] == 0 else ""
        )
    return None


def held_file_name(owner_pid: int, run_tag: str = "", victim: int = 1) -> str:
    """The run's shared held file: the runner's pid and a tag of this scenario run (the name
    of its event directory), which the victim and the healthy clients both know. One file
    per run: a durable handle a victim left on the last run's file must not hold up the next.
    With several victims, victim ``victim`` (from 2) holds a file of its own (``-v2``); the
    healthy clients contend for the first's."""
    from harness.clients.scratch import run_marker

    tag = run_marker(run_tag)
    own = f"-v{victim}" if victim > 1 else ""
    return f"nbth-held-{owner_pid}{'-' + tag if tag else ''}{own}.dat"


def raw_create(
    session,
    name: str,
    access: int,
    share: int,
    disposition: int,
    oplock: int,
    contexts: bytes = b"",
) -> dict:
    """One SMB2 CREATE with our own contexts; the parsed answer (SessionError on failure)."""
    from impacket.smb3 import SMB2_CREATE, SMB2Create, SMB2Packet

    create = SMB2Create()
    create["SecurityFlags"] = 0
    create["RequestedOplockLevel"] = oplock
    create["ImpersonationLevel"] = 2  # impersonation
    create["DesiredAccess"] = access
    create["FileAttributes"] = 0x80  # normal
    create["ShareAccess"] = share
    create["CreateDisposition"] = disposition
    create["CreateOptions"] = 0x40  # FILE_NON_DIRECTORY_FILE
    create["NameLength"] = len(name.encode("utf-16le"))
    create["Buffer"] = name.encode("utf-16le")
    if contexts:
        offset = len(SMB2Packet()) + SMB2Create.SIZE + len(create["Buffer"])
        if offset % 8:
            create["Buffer"] += bytes(8 - offset % 8)
        create["CreateContextsOffset"] = len(SMB2Packet()) + SMB2Create.SIZE + len(create["Buffer"])
        create["CreateContextsLength"] = len(contexts)
        create["Buffer"] += contexts
    else:
        create["CreateContextsOffset"] = 0
        create["CreateContextsLength"] = 0
    return parse_create_response(smb2_call(session, SMB2_CREATE, create)["Data"])


def take(session, holds: str, name: str, durable_timeout_ms: int = 0) -> dict:
    """Create the held file and take the holding on it; what the server granted (for the
    history). Raises NotGranted when the server granted less than asked."""
    from impacket.smb3structs import FILE_SHARE_READ, FILE_SHARE_WRITE, GENERIC_READ, GENERIC_WRITE

    # the file with some content, written and closed first on a plain handle
    fid = session.open_file(name)
    session.conn.writeFile(session.tree_id, fid, b"\x5a" * HELD_FILE_BYTES, 0)
    session.conn.closeFile(session.tree_id, fid)
    rw, disposition = GENERIC_READ | GENERIC_WRITE, 1  # FILE_OPEN
    smb3 = session.smb._Connection["Dialect"] >= 0x300
    key, create_guid = os.urandom(16), os.urandom(16)
    if holds == "byte_range_lock":
        r = raw_create(
            session, name, rw, FILE_SHARE_READ | FILE_SHARE_WRITE, disposition, OPLOCK_NONE
        )
        lock(session, struct.pack("<QQ", *r["file_id"]), 0, LOCKED_BYTES)  # exclusive, no wait
        session.held = HeldOpen(holds, name, struct.pack("<QQ", *r["file_id"]))
        return {"holds": holds, "file": name, "locked": [0, LOCKED_BYTES]}
    oplock, contexts = {
        "batch_oplock": (OPLOCK_BATCH, []),
        "exclusive_oplock": (OPLOCK_EXCLUSIVE, []),
        "lease_rwh": (OPLOCK_LEASE, [lease_v2(key) if smb3 else lease_v1(key)]),
        "deny_write": (OPLOCK_NONE, []),
        "durable_v1": (OPLOCK_BATCH, [durable_v1()]),
        "durable_v2": (OPLOCK_BATCH, [durable_v2(create_guid, durable_timeout_ms)]),
    }[holds]
    r = raw_create(session, name, rw, FILE_SHARE_READ, disposition, oplock, chain(contexts))
    granted = {
        "holds": holds,
        "file": name,
        "oplock_level": r["oplock_level"],
        "contexts": sorted(r["contexts"]),
    }
    if oplock not in (OPLOCK_NONE, OPLOCK_LEASE) and r["oplock_level"] != oplock:
        raise NotGranted(
            f"holding {holds}: the server granted oplock level {r['oplock_level']:#x}, "
            f"not {oplock:#x}"
        )
    if holds == "lease_rwh":
        state = lease_state(r["contexts"]["RqLs"]) if "RqLs" in r["contexts"] else 0
        granted["lease_state"] = state
        if r["oplock_level"] != OPLOCK_LEASE or state != LEASE_RWH:
            raise NotGranted(
                f"holding lease_rwh: the server granted oplock level "
                f"{r['oplock_level']:#x}, lease state {state:#x} (leases off?)"
            )
    for ctx, want in (("durable_v1", "DHnQ"), ("durable_v2", "DH2Q")):
        if holds == ctx and want not in r["contexts"]:
            raise NotGranted(
                f"holding {holds}: the server answered without {want} "
                "(durable handles need kernel share modes, kernel oplocks and "
                "posix locking off)"
            )
    if holds == "durable_v2":
        granted["durable_timeout_ms"] = struct.unpack_from("<I", r["contexts"]["DH2Q"])[0]
    session.held = HeldOpen(
        holds,
        name,
        struct.pack("<QQ", *r["file_id"]),
        create_guid if holds == "durable_v2" else b"",
    )
    return granted
