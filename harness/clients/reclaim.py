"""The victim's comeback: on a new connection, reclaim the durable handle it held when it
dropped ([MS-SMB2] 3.2.4.4 "Re-establishing a durable open"), and read back what it wrote on
it. The judging is pure and lives in harness.checkers.reclaim; this is only the I/O.

On the wire, on a new TCP connection to the same server, as the same client (the dropped
connection's dialect and NEGOTIATE ClientGuid, which a v2 reconnect must match): NEGOTIATE;
SESSION_SETUP with PreviousSessionId = the dropped session's id (every leg), so that the
server may tear the old session down ([MS-SMB2] 3.3.5.5.3); TREE_CONNECT; an SMB2 CREATE of
the held file with the original open's access, share mode and batch oplock and the reconnect
context, DHnC (v1: its FileId) or DH2C (v2: its FileId and CreateGuid); if granted, a READ
of the block the victim wrote before it dropped, and a CLOSE; a LOGOFF.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from impacket.smb3structs import SMB2_SESSION_SETUP

from harness.clients.connect import DIALECTS, connect, describe_error, drop_socket, login
from harness.clients.holdings import OPLOCK_BATCH, HeldOpen, raw_create
from harness.clients.session import Session
from harness.clients.smbops import smb2_close, smb2_read
from harness.packets.smb2_create import chain, durable_v1_reconnect, durable_v2_reconnect

FILE_OPEN = 0x00000001
SHARE_READ = 0x00000001
READ_WRITE = 0x80000000 | 0x40000000  # GENERIC_READ | GENERIC_WRITE, as the holding's open
RECONNECT = {"durable_v1": "DHnC", "durable_v2": "DH2C"}


def reconnect_context(held: HeldOpen) -> bytes:
    """The reconnect create context for what the victim held (ValueError: not durable)."""
    if held.holds == "durable_v1":
        return durable_v1_reconnect(held.file_id)
    if held.holds == "durable_v2":
        return durable_v2_reconnect(held.file_id, held.create_guid)
    raise ValueError(f"holding {held.holds} is no durable handle: nothing to reclaim")


def status_name(exc: BaseException) -> str:
    """``STATUS_OBJECT_NAME_NOT_FOUND`` for an NT status error (impacket's SMBConnection or
    SMB3 kind), else ``timeout`` or ``error``."""
    from impacket.nt_errors import ERROR_MESSAGES

    for getter in ("getErrorCode", "get_error_code"):
        code = getattr(exc, getter, None)
        if callable(code) and isinstance(code(), int):
            return ERROR_MESSAGES.get(code(), (f"{code():#010x}",))[0]
    return "timeout" if "timed out" in str(exc).lower() else "error"


def _log_on_again(old: Session, previous_session_id: int, timeout_s: float):
    """A new connection as the same client (its ClientGuid, its dialect) logged in with
    PreviousSessionId set, and its tree id."""
    dialect = old.dialect if old.dialect in DIALECTS else None  # 3.0.2: what the server picks
    conn, _got = connect(
        old.endpoint,
        "NBTH-RECLAIM",
        timeout_s,
        dialect,
        old.transport,
        client_guid=old.smb.ClientGuid,
    )
    server = conn.getSMBServer()
    send = server.sendSMB

    def send_with_previous(packet):
        if packet["Command"] == SMB2_SESSION_SETUP:
            packet["Data"]["PreviousSessionId"] = previous_session_id
        return send(packet)

    server.sendSMB = send_with_previous  # only for the logon: impacket sets it to 0
    try:
        try:
            login(conn, old.endpoint)
        finally:
            del server.sendSMB
        return conn, conn.connectTree(old.endpoint.share)
    except BaseException:
        drop_socket(conn)
        raise


def reclaim(
    old: Session,
    previous_session_id: int,
    wrote: dict | None,
    timeout_s: float,
    on_create: Callable[[], None] = lambda: None,
) -> dict:
    """Reclaim ``old.held`` on a new connection (``on_create()`` just before the CREATE
    goes); what happened, for the history's ``reclaim`` event: ``handle`` (DHnC, DH2C),
    ``session`` (``ok``, or why no session came), ``status`` (``ok``, the NT status name it
    was refused with, ``timeout``, ``error``, or ``not_sent``), ``error``; once granted,
    ``read_back`` (the CRC-32 of the block ``wrote`` describes, as it reads now, or the error
    of the READ)."""
    held = old.held
    if not isinstance(held, HeldOpen):
        return {"status": "not_sent", "error": "the victim held no open to reclaim"}
    out: dict = {"handle": RECONNECT.get(held.holds), "previous_session_id": previous_session_id}
    try:
        context = reconnect_context(held)
        conn, tree_id = _log_on_again(old, previous_session_id, timeout_s)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; one line
        return {**out, "session": describe_error(exc, old.endpoint), "status": "not_sent"}
    out["session"] = "ok"
    session = Session(conn, tree_id, old.endpoint, old.dialect, old.transport, old.port)
    try:
        on_create()
        try:
            granted = raw_create(
                session,
                held.file,
                READ_WRITE,
                SHARE_READ,
                FILE_OPEN,
                OPLOCK_BATCH,
                chain([context]),
            )
        except Exception as exc:  # noqa: BLE001 the refusal is the answer judged
            return {**out, "status": status_name(exc), "error": describe_error(exc, old.endpoint)}
        out["status"] = "ok"
        out["oplock_level"] = granted["oplock_level"]
        file_id = struct.pack("<QQ", *granted["file_id"])
        if wrote:
            try:
                data = smb2_read(session, file_id, wrote["offset"], wrote["length"])
                out["read_back"] = {"crc32": zlib.crc32(data), "length": len(data)}
            except Exception as exc:  # noqa: BLE001 a READ the server refuses is recorded
                out["read_back"] = {"error": describe_error(exc, old.endpoint)}
        try:
            smb2_close(session, file_id)
        except Exception:  # noqa: BLE001 the logoff closes it too
            pass
        return out
    finally:
        session.close()
