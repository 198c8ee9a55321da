"""SMB2 CREATE contexts, the CREATE response and the LOCK request body: what a victim needs to
hold a lease, a durable handle or a byte-range lock, and to reclaim a durable handle
([MS-SMB2] 2.2.13.2, 2.2.14, 2.2.26); and what the replica needs to spot a reclaim and grant
it itself. Pure.

A create context is Next(4) NameOffset(2) NameLength(2) Reserved(2) DataOffset(2)
DataLength(4), the 4-byte name, padding to 8, the data; contexts are chained by ``Next``
(the distance to the next one, 8-aligned; 0 on the last).
"""

from __future__ import annotations

import struct

from harness.packets.smb2 import HEADER_BYTES, SMB2Error, success_response_header

LEASE_READ = 0x01  # SMB2_LEASE_READ_CACHING ([MS-SMB2] 2.2.13.2.8)
LEASE_HANDLE = 0x02
LEASE_WRITE = 0x04
LEASE_RWH = LEASE_READ | LEASE_WRITE | LEASE_HANDLE
DH2_FLAG_PERSISTENT = 0x00000002  # SMB2_DHANDLE_FLAG_PERSISTENT ([MS-SMB2] 2.2.13.2.11)
LOCK_SHARED = 0x01
LOCK_EXCLUSIVE = 0x02
LOCK_UNLOCK = 0x04
LOCK_FAIL_IMMEDIATELY = 0x10

_CONTEXT = struct.Struct(
    "<IHHHHI"
)  # Next, NameOffset, NameLength, Reserved, DataOffset, DataLength
# StructureSize, OplockLevel, Flags, CreateAction, 4 times, AllocationSize, EndOfFile,
# FileAttributes, Reserved2, FileId (persistent, volatile), CreateContextsOffset, Length
_CREATE_RESPONSE = struct.Struct("<HBBIQQQQQQII16sII")


def _pad8(n: int) -> int:
    return (n + 7) & ~7


def create_context(name: bytes, data: bytes) -> bytes:
    """One create context with ``Next`` 0 (chain() sets it), padded to a multiple of 8."""
    if len(name) != 4:
        raise ValueError(f"a create context name is 4 bytes here, got {name!r}")
    data_offset = _pad8(_CONTEXT.size + len(name))  # 24
    raw = _CONTEXT.pack(0, _CONTEXT.size, len(name), 0, data_offset if data else 0, len(data))
    raw += name + bytes(data_offset - _CONTEXT.size - len(name)) + data
    return raw + bytes(_pad8(len(raw)) - len(raw))


def chain(contexts: list[bytes]) -> bytes:
    """Contexts back to back, each one's ``Next`` pointing at the following one."""
    out = b""
    for i, ctx in enumerate(contexts):
        nxt = len(ctx) if i < len(contexts) - 1 else 0
        out += struct.pack("<I", nxt) + ctx[4:]
    return out


def lease_v1(key: bytes, state: int = LEASE_RWH) -> bytes:
    """SMB2_CREATE_REQUEST_LEASE ("RqLs", 32 bytes of data: SMB 2.1)."""
    if len(key) != 16:
        raise ValueError("a lease key is 16 bytes")
    return create_context(b"RqLs", key + struct.pack("<IIQ", state, 0, 0))


def lease_v2(
    key: bytes, state: int = LEASE_RWH, parent_key: bytes = bytes(16), epoch: int = 0
) -> bytes:
    """SMB2_CREATE_REQUEST_LEASE_V2 ("RqLs", 52 bytes of data: SMB 3.x)."""
    if len(key) != 16 or len(parent_key) != 16:
        raise ValueError("a lease key is 16 bytes")
    return create_context(
        b"RqLs", key + struct.pack("<IIQ", state, 0, 0) + parent_key + struct.pack("<HH", epoch, 0)
    )


def durable_v1() -> bytes:
    """SMB2_CREATE_DURABLE_HANDLE_REQUEST ("DHnQ", 16 reserved zero bytes)."""
    return create_context(b"DHnQ", bytes(16))


def durable_v2(create_guid: bytes, timeout_ms: int = 0, persistent: bool = False) -> bytes:
    """SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 ("DH2Q": Timeout ms (0: the server's default),
    Flags, 8 reserved, CreateGuid)."""
    if len(create_guid) != 16:
        raise ValueError("a create GUID is 16 bytes")
    if not 0 <= timeout_ms <= 0xFFFFFFFF:
        raise ValueError(f"durable timeout {timeout_ms} ms out of range")
    flags = DH2_FLAG_PERSISTENT if persistent else 0
    return create_context(b"DH2Q", struct.pack("<II", timeout_ms, flags) + bytes(8) + create_guid)


def parse_contexts(buf: bytes) -> dict[str, bytes]:
    """{name: data} of a chain of create contexts (as in a CREATE response)."""
    out: dict[str, bytes] = {}
    pos = 0
    while True:
        if pos + _CONTEXT.size > len(buf):
            raise SMB2Error(f"create context at {pos} runs past {len(buf)} bytes")
        nxt, name_off, name_len, _r, data_off, data_len = _CONTEXT.unpack_from(buf, pos)
        name = buf[pos + name_off : pos + name_off + name_len]
        data = buf[pos + data_off : pos + data_off + data_len] if data_len else b""
        if len(name) != name_len or len(data) != data_len:
            raise SMB2Error(f"create context at {pos}: name or data runs past the buffer")
        out[name.decode("latin-1")] = data
        if nxt == 0:
            return out
        if nxt % 8 or nxt < _CONTEXT.size:
            raise SMB2Error(f"create context at {pos}: bad Next {nxt}")
        pos += nxt


def parse_create_response(body: bytes) -> dict:
    """{oplock_level, create_action, file_id (persistent, volatile), contexts} of an SMB2
    CREATE response body (the bytes after the 64-byte header; offsets in it count from the
    header)."""
    if len(body) < _CREATE_RESPONSE.size:
        raise SMB2Error(f"{len(body)} bytes: shorter than a CREATE response")
    (size, oplock, _flags, action, *_times, _attrs, _r2, file_id, ctx_off, ctx_len) = (
        _CREATE_RESPONSE.unpack_from(body)
    )
    if size != 89:
        raise SMB2Error(f"CREATE response StructureSize {size}, not 89")
    contexts = {}
    if ctx_len:
        start = ctx_off - HEADER_BYTES
        if start < _CREATE_RESPONSE.size or start + ctx_len > len(body):
            raise SMB2Error("CREATE response contexts outside the body")
        contexts = parse_contexts(body[start : start + ctx_len])
    return {
        "oplock_level": oplock,
        "create_action": action,
        "file_id": struct.unpack("<QQ", file_id),
        "contexts": contexts,
    }


def lease_state(data: bytes) -> int:
    """LeaseState of a lease response context (v1 or v2)."""
    if len(data) < 20:
        raise SMB2Error("lease context shorter than 20 bytes")
    return struct.unpack_from("<I", data, 16)[0]


def lock_request(file_id: bytes, locks: list[tuple[int, int, int]], sequence: int = 0) -> bytes:
    """SMB2 LOCK request body (StructureSize 48): ``locks`` as (offset, length, flags)."""
    if len(file_id) != 16 or not locks:
        raise ValueError("a LOCK needs a 16-byte file id and at least one lock")
    body = struct.pack("<HHI", 48, len(locks), sequence) + file_id
    return body + b"".join(
        struct.pack("<QQII", off, length, flags, 0) for off, length, flags in locks
    )


def durable_v1_reconnect(file_id: bytes) -> bytes:
    """SMB2_CREATE_DURABLE_HANDLE_RECONNECT ("DHnC": the FileId of the open to reclaim,
    [MS-SMB2] 2.2.13.2.4)."""
    if len(file_id) != 16:
        raise ValueError("a file id is 16 bytes")
    return create_context(b"DHnC", file_id)


def durable_v2_reconnect(file_id: bytes, create_guid: bytes, persistent: bool = False) -> bytes:
    """SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 ("DH2C": FileId, the CreateGuid the open was
    made with, Flags; [MS-SMB2] 2.2.13.2.12)."""
    if len(file_id) != 16 or len(create_guid) != 16:
        raise ValueError("a file id and a create GUID are 16 bytes each")
    flags = DH2_FLAG_PERSISTENT if persistent else 0
    return create_context(b"DH2C", file_id + create_guid + struct.pack("<I", flags))


RECONNECT_CONTEXTS = ("DHnC", "DH2C")
# StructureSize 57 ... NameOffset, NameLength, CreateContextsOffset, CreateContextsLength
_CREATE_REQUEST_CONTEXTS = struct.Struct("<HHII")
_CREATE_REQUEST_CONTEXTS_AT = 44  # within the request body


def create_request_contexts(message: bytes) -> dict[str, bytes]:
    """{name: data} of the create contexts of an SMB2 CREATE request (``message``: its SMB2
    header and body; the contexts' offset counts from the header). SMB2Error when it is no
    CREATE request or its contexts run outside it."""
    body = HEADER_BYTES + _CREATE_REQUEST_CONTEXTS_AT
    if len(message) < body + _CREATE_REQUEST_CONTEXTS.size or message[:4] != b"\xfeSMB":
        raise SMB2Error(f"{len(message)} bytes: no SMB2 CREATE request")
    if struct.unpack_from("<H", message, 12)[0] != SMB2_CREATE:
        raise SMB2Error("not an SMB2 CREATE request")
    _name_off, _name_len, ctx_off, ctx_len = _CREATE_REQUEST_CONTEXTS.unpack_from(message, body)
    if not ctx_len:
        return {}
    if ctx_off < body + _CREATE_REQUEST_CONTEXTS.size or ctx_off + ctx_len > len(message):
        raise SMB2Error("CREATE request contexts outside the message")
    return parse_contexts(message[ctx_off : ctx_off + ctx_len])


def durable_reconnect(message: bytes) -> tuple[str, bytes] | None:
    """(``DHnC`` or ``DH2C``, the FileId it reclaims) when ``message`` is an SMB2 CREATE that
    reconnects a durable handle; None for any other message (or one that does not parse)."""
    try:
        contexts = create_request_contexts(message)
    except SMB2Error:
        return None
    for name in RECONNECT_CONTEXTS:
        data = contexts.get(name, b"")
        if len(data) >= 16:
            return name, data[:16]
    return None


FILE_OPENED = 0x00000001  # CreateAction ([MS-SMB2] 2.2.14)
SMB2_CREATE = 0x0005


def granted_create_response(request: bytes, file_id: bytes) -> bytes:
    """A successful SMB2 CREATE response ([MS-SMB2] 2.2.14) to ``request``, as if the server
    had opened the file: ``file_id``, the oplock level asked for, FILE_OPENED, no create
    contexts; the header as success_response_header makes it (unsigned)."""
    if len(file_id) != 16:
        raise ValueError("a file id is 16 bytes")
    if len(request) < HEADER_BYTES + 4:
        raise SMB2Error("no SMB2 CREATE request")
    oplock = request[HEADER_BYTES + 3]  # RequestedOplockLevel
    body = _CREATE_RESPONSE.pack(
        89, oplock, 0, FILE_OPENED, 0, 0, 0, 0, 0, 0, 0x80, 0, file_id, 0, 0
    )
    return success_response_header(request, SMB2_CREATE) + body + b"\x00"
