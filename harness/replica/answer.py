"""Requests the relay answers itself and never forwards: a server's bugs it plays.

- ``lose_write`` (harness.replica.lose): the Nth WRITE is acknowledged by the relay and never
  reaches the server (an acknowledged write lost).
- ``grant_reclaim``: every SMB2 CREATE that reconnects a durable handle (a DHnC or DH2C
  context, [MS-SMB2] 2.2.13.2.4, 2.2.13.2.12) is answered by the relay with success, the
  FileId the client asked for and the oplock level it asked for: a server that lets a stale
  reclaim succeed, even after another client was granted a conflicting open (where [MS-SMB2]
  says it must fail). The real server never sees the reclaim, so a READ through that FileId
  reaches it for a handle it does not have. (Answered, not rewritten into a fresh open that
  the server grants: on SMB 3.1.1 every request is signed, and a rewritten one fails the
  server's signature check; impacket does not verify the signatures of responses.)

While either is armed on a connection, only whole frames go upstream, so one request can be
taken out whole and answered here; an answer never splits a frame of the server's.
"""

from __future__ import annotations

from typing import Any

from harness.packets.nbt import SESSION_MESSAGE
from harness.packets.smb2_create import durable_reconnect, granted_create_response
from harness.replica.framing import SMB2_CREATE, smb2_command
from harness.replica.lose import lost_write_answer, write_kind


def answering(session: Any) -> bool:
    """The relay may answer a request of this connection itself (harness.replica.session's
    ClientSession): a WRITE may still be the one to lose, or reclaims are granted."""
    relay = session.relay
    return relay.write_loss.armed(session, session.peer_host) or relay.config.grant_reclaim


def answer_for(session: Any, head: bytes, buf: bytes, start: int, end: int) -> bytes | None:
    """The relay's own answer to one client message (``head``: its first bytes; all of it:
    ``buf[start:end]``, copied only for a message it may answer), as one NBT frame; None to
    forward it."""
    relay = session.relay
    kind = write_kind(head)
    if kind is not None:
        nth = relay.write_loss.count(session, session.peer_host)
        if nth is None:
            return None
        request = buf[start:end]
        answer, offset, length = lost_write_answer(request, kind)
        relay.note_lost_write(session, request, offset, length, nth)
        return answer
    if relay.config.grant_reclaim and smb2_command(head) == SMB2_CREATE:
        request = buf[start:end]
        found = durable_reconnect(request)
        if found is None:
            return None
        handle, file_id = found
        response = granted_create_response(request, file_id)
        relay.note_granted_reclaim(session, handle, file_id)
        return len(response).to_bytes(4, "big") + response
    return None


def store_and_forward(session: Any, data: bytes, frames) -> None:
    """Forward ``data`` (the client's latest bytes, ``frames`` the frames they completed) whole
    frame by whole frame, answering here the ones answer_for() takes out. Once nothing is
    armed any more, what is left goes as it comes."""
    buf, base = session.unsent + data, len(session.unsent)
    if not answering(session) or session.client_frames.opaque:
        session.unsent = b""
        session.up.push(buf)
        return
    sent = 0
    for frame, chunk_end in zip(frames, session.client_frames.ends, strict=True):
        end = base + chunk_end
        if frame.packet_type != SESSION_MESSAGE or session.server_frames.incomplete:
            continue  # a fake answer must not split a frame of the server's
        start = end - frame.length
        answer = answer_for(session, frame.head, buf, start, end)
        if answer is None:
            continue
        if start - 4 > sent:
            session.up.push(buf[sent : start - 4])
        sent = end
        session.outstanding = max(0, session.outstanding - 1)
        session.down.push(answer)
    complete = (session.client_frames.ends[-1] + base) if frames else sent
    if complete > sent:
        session.up.push(buf[sent:complete])
    session.unsent = buf[max(complete, sent) :]
    if session.unsent and not answering(session):
        session.up.push(session.unsent)
        session.unsent = b""
