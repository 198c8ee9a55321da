"""After the recovery phase: re-read, from a fresh session, every block the healthy clients'
writes were acknowledged for, and say what is there now (CRC-32 of each block). The judging
is pure and lives in harness.checkers.writes; this is only the I/O."""

from __future__ import annotations

import zlib

from impacket.nt_errors import STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND
from impacket.smb3structs import FILE_OPEN, FILE_READ_DATA
from impacket.smbconnection import SessionError

from harness.clients import smbops
from harness.clients.session import describe_error, open_session

READBACK_TIMEOUT_S = 5.0  # per SMB operation
SMB1_READ_BYTES = 32 * 1024  # within any SMB1 server's buffer (no large READ_ANDX assumed)
NOT_FOUND = (STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND)


def reread(
    endpoint, blocks: dict[str, list[tuple[int, int]]], timeout_s: float, dialect: str | None = None
) -> list[dict]:
    """For each file, {file, blocks: {offset: crc32 or None (not there: past the end)},
    missing_file, error}; a session that cannot be opened gives every file that error."""
    try:
        session = open_session(endpoint, "NBTH-VERIFY", timeout_s, dialect)
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; each is the reply
        return [{"file": f, "blocks": {}, "error": describe_error(exc, endpoint)} for f in blocks]
    out = []
    try:
        for name, wanted in blocks.items():
            out.append(_reread_file(session, name, wanted, endpoint))
    finally:
        session.close()
    return out


def _reread_file(session, name: str, wanted: list[tuple[int, int]], endpoint) -> dict:
    try:
        file_id = smbops.open_file(session, name, disposition=FILE_OPEN, access=FILE_READ_DATA)
    except SessionError as exc:
        missing = exc.getErrorCode() in NOT_FOUND
        return {
            "file": name,
            "blocks": {},
            "missing_file": missing,
            "error": describe_error(exc, endpoint),
        }
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; each is the reply
        return {"file": name, "blocks": {}, "error": describe_error(exc, endpoint)}
    try:
        end = max(offset + length for offset, length in wanted)
        data = bytearray()
        step = SMB1_READ_BYTES if smbops.is_smb1(session) else session.max_read_bytes()
        while len(data) < end:
            try:
                chunk = session.conn.readFile(
                    session.tree_id, file_id, len(data), min(step, end - len(data))
                )
            except SessionError:  # STATUS_END_OF_FILE: the file is shorter
                break
            if not chunk:
                break
            data += chunk
        found = {
            str(offset): (
                zlib.crc32(data[offset : offset + length]) if offset + length <= len(data) else None
            )
            for offset, length in wanted
        }
        return {"file": name, "blocks": found, "size_bytes": len(data)}
    except Exception as exc:  # noqa: BLE001 impacket raises assorted types; each is the reply
        return {"file": name, "blocks": {}, "error": describe_error(exc, endpoint)}
    finally:
        try:
            smbops.close_file(session, file_id)
        except Exception:  # noqa: BLE001 closing is best effort; the session goes next
            pass
