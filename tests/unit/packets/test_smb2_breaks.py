"""The breaks a server sent one client, read from hand-built IPv4/TCP packets."""

from __future__ import annotations

import struct

from harness.packets.smb2_breaks import breaks_to, describe, lease_letters
from harness.packets.tcp import ACK, PSH, tcp_packet

SERVER, CLIENT = ("10.0.0.1", 445), ("10.0.0.11", 40000)
FILE_ID = bytes(range(16))
LEASE_KEY = bytes(range(16, 32))


def smb2(command: int, flags: int, message_id: int, body: bytes) -> bytes:
    header = struct.pack(
        "<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, 0, command, 0, flags, 0, message_id, 0, 0, 0,
        bytes(16),
    )
    message = header + body
    return b"\x00" + len(message).to_bytes(3, "big") + message


def oplock_break(level: int = 0) -> bytes:
    return struct.pack("<HBBI", 24, level, 0, 0) + FILE_ID


def lease_break(current: int = 7, new: int = 1) -> bytes:
    return struct.pack("<HHI", 44, 1, 1) + LEASE_KEY + struct.pack("<IIIII", current, new, 0, 0, 0)


NOTIFY = smb2(0x12, 1, 0xFFFFFFFFFFFFFFFF, oplock_break())


def to_client(seq: int, payload: bytes = b"", ack: int = 1) -> bytes:
    return tcp_packet(SERVER[0], CLIENT[0], SERVER[1], CLIENT[1], seq, ack, ACK | PSH,
                      payload=payload)


def from_client(ack: int, payload: bytes = b"", seq: int = 1) -> bytes:
    return tcp_packet(CLIENT[0], SERVER[0], CLIENT[1], SERVER[1], seq, ack, ACK | PSH,
                      payload=payload)


def test_a_break_never_acknowledged_not_even_by_tcp_counts_its_retransmissions():
    packets = [(1.0, to_client(1000, NOTIFY)), (1.2, to_client(1000, NOTIFY)),
               (1.6, to_client(1000, NOTIFY)), (1.7, from_client(1000))]  # an older ack
    [b] = breaks_to(packets, CLIENT)
    assert b["kind"] == "oplock" and b["to"] == "none" and b["key"] == FILE_ID.hex()
    assert (b["sent_s"], b["retransmits"], b["tcp_acked_s"], b["acked_s"]) == (1.0, 2, None, None)


def test_a_break_taken_by_tcp_then_acknowledged_and_answered():
    ack_body = oplock_break(0)
    packets = [(1.0, to_client(1000, NOTIFY)), (1.01, from_client(1000 + len(NOTIFY))),
               (11.0, from_client(1000 + len(NOTIFY), smb2(0x12, 0, 7, ack_body))),
               (11.01, to_client(1000 + len(NOTIFY), smb2(0x12, 1, 7, ack_body)))]
    [b] = breaks_to(packets, CLIENT)
    assert (b["tcp_acked_s"], b["acked_s"], b["answered_s"]) == (1.01, 11.0, 11.01)


def test_a_break_behind_another_message_in_one_segment_and_other_flows_ignored():
    echo = smb2(0x0D, 1, 5, struct.pack("<HH", 4, 0))
    other = tcp_packet("10.0.0.1", "10.0.0.12", 445, 40001, 1, 1, ACK, payload=NOTIFY)
    lease = smb2(0x12, 1, 0xFFFFFFFFFFFFFFFF, lease_break())
    [b] = breaks_to([(0.5, other), (2.0, to_client(50, echo + lease))], CLIENT)
    assert b["kind"] == "lease" and (b["from_state"], b["to_state"]) == ("RWH", "R")
    assert b["sent_s"] == 2.0


def test_lease_letters_and_describe():
    assert lease_letters(0) == "none" and lease_letters(7) == "RWH" and lease_letters(5) == "RW"
    assert describe(oplock_break(1))["to"] == "level II"


# A capture holds whatever the wire carried: the reader takes any bytes (Hypothesis).
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=500, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.binary(max_size=200), st.booleans()), max_size=8))
def test_any_payload_in_the_flow_is_read_without_error(payloads):
    packets = []
    for i, (junk, server) in enumerate(payloads):
        # near-valid: a framed SMB2 header with junk around it, or junk alone
        payload = junk[:20] + NOTIFY[: len(junk) % len(NOTIFY)] + junk[20:] if i % 2 else junk
        packets.append((float(i), to_client(1000 + i, payload) if server else from_client(1000, payload)))
    for b in breaks_to(packets, CLIENT):
        assert b["kind"] in ("oplock", "lease") and b["sent_s"] >= 0
