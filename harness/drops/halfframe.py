"""``halfframe``: the victim sends an NBT header announcing N bytes, part of them, then
goes silent with its socket open (no FIN, no RST) until the run ends."""

import struct

from harness.drops.base import Drop, after
from harness.packets.nbt import MAX_SESSION_LENGTH, session_message_header
from harness.validate import number


class HalfFrame(Drop):
    """Evidence: the server socket is ESTABLISHED, its bytes received grew by what the victim
    sent (the partial frame and its writes before it), and its receive queue is drained: the
    server waits mid-frame."""

    mode = "halfframe"
    repeatable = True
    wire = "NBT header announcing frame_bytes, then only sent_bytes of them, then silence"

    def __init__(self, frame_bytes: int = 4096, sent_bytes: int = 1024) -> None:
        number(frame_bytes, "frame_bytes", 2, MAX_SESSION_LENGTH, integer=True)
        number(sent_bytes, "sent_bytes", 1, MAX_SESSION_LENGTH, integer=True)
        if not sent_bytes < frame_bytes:
            raise ValueError("halfframe needs 0 < sent_bytes < frame_bytes")
        self.frame_bytes, self.sent_bytes = frame_bytes, sent_bytes

    def act(self, session):
        # The start of a plausible SMB2 header (protocol id, header size 64), zeros after.
        payload = (b"\xfeSMB" + struct.pack("<H", 64)).ljust(self.sent_bytes, b"\x00")
        session.sock.sendall(session_message_header(self.frame_bytes) + payload)
        return {"announced_bytes": self.frame_bytes, "sent_bytes": len(payload) + 4}

    def evidence(self, before, rows, detail, victim_exitcode):
        if before is None or "bytes_received" not in before.info:
            return None
        # ``before`` is the server's row at set-up: what the victim sent since then before its
        # drop (its own data's writes and flush) arrived too
        expected = detail.get("sent_bytes", 1) + detail.get("sent_before_drop_bytes", 0)
        for row in rows:
            got = row.info.get("bytes_received", 0) - before.info["bytes_received"]
            if row.state == "ESTAB" and row.recv_q == 0 and got >= expected:
                # The server's TCP took every byte and its reader drained them: it now
                # waits, mid-frame, for bytes that will never come.
                return {
                    "server_socket": "ESTAB",
                    "bytes_received_since_ready": got,
                    "recv_q": row.recv_q,
                    "peer": row.peer,
                }
        return None

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """The server's TCP acknowledged every byte of the partial frame (and the victim
        sent nothing after it)."""
        sent = [s for s in after(captured, since_monotonic, "out") if s.payload_len]
        if not sent:
            return None
        end = max((s.seq + s.payload_len) & 0xFFFFFFFF for s in sent)
        acks = [s.ack for s in after(captured, since_monotonic, "in") if s.has(0x10)]
        if any(((a - end) & 0xFFFFFFFF) < 0x80000000 for a in acks):
            return {
                "capture": "the server acknowledged the partial frame",
                "bytes": sum(s.payload_len for s in sent),
            }
        return None
