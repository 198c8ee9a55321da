"""sock_diag encoding and parsing against literal bytes (linux/inet_diag.h layouts)."""

import socket
import struct

import pytest

from harness.packets.inet_diag import (
    DiagError,
    dump_request,
    lookup_request,
    own_messages,
    parse_messages,
    parse_tcp_info,
    split_addr,
)


def test_dump_request_bytes():
    raw = dump_request(socket.AF_INET, seq=7)
    assert len(raw) == 16 + 8 + 48
    # nlmsghdr: len 72, SOCK_DIAG_BY_FAMILY (20), REQUEST|DUMP (0x301), seq 7, pid 0
    assert raw[:16] == struct.pack("=IHHII", 72, 20, 0x301, 7, 0)
    # family AF_INET, IPPROTO_TCP, ext = 1 << (INET_DIAG_INFO - 1), pad, all states
    assert raw[16:24] == bytes([2, 6, 2, 0]) + b"\xff\xff\xff\xff"
    assert raw[24:] == bytes(48)


def test_lookup_request_carries_the_four_tuple_network_order_and_no_cookie():
    raw = lookup_request(("10.213.0.1", 139), ("10.213.0.10", 40000), seq=1)
    assert struct.unpack_from("=HH", raw, 4) == (20, 0x01)  # a request, not a dump
    sockid = raw[24:]
    assert sockid[:4] == struct.pack(">HH", 139, 40000)
    assert sockid[4:8] == bytes([10, 213, 0, 1]) and sockid[8:20] == bytes(12)
    assert sockid[20:24] == bytes([10, 213, 0, 10])
    assert sockid[36:48] == bytes(4) + b"\xff" * 8


def _msg(state, local, peer, rq, wq, info=b"", mtype=20, family=socket.AF_INET):
    (la, lp), (pa, pp) = local, peer
    body = bytes([family, state, 0, 0]) + struct.pack(
        ">HH16s16s", lp, pp, socket.inet_aton(la).ljust(16, b"\0"), socket.inet_aton(pa).ljust(16, b"\0"))
    body += struct.pack("=III", 0, 0, 0) + struct.pack("=IIIII", 0, rq, wq, 0, 0)
    if info:
        body += struct.pack("=HH", 4 + len(info), 2) + info
        body += bytes(-len(body) % 4)
    return struct.pack("=IHHII", 16 + len(body), mtype, 2, 1, 0) + body


def _tcp_info(backoff=0, retrans=0, rtt_us=0, total_retrans=0, acked=0, received=0):
    raw = bytearray(144)
    raw[4] = backoff
    struct.pack_into("=I", raw, 36, retrans)
    struct.pack_into("=II", raw, 68, rtt_us, rtt_us // 2)
    struct.pack_into("=I", raw, 100, total_retrans)
    struct.pack_into("=QQ", raw, 120, acked, received)
    return bytes(raw)


def test_parse_rows_with_tcp_info_then_done():
    info = _tcp_info(backoff=3, retrans=2, rtt_us=1500, total_retrans=9, acked=10, received=1024)
    data = (_msg(1, ("10.213.0.1", 139), ("10.213.0.10", 40000), 5, 70000, info)
            + _msg(10, ("0.0.0.0", 445), ("0.0.0.0", 0), 0, 128)
            + struct.pack("=IHHII", 20, 3, 2, 1, 0) + bytes(4))
    rows, done = parse_messages(data)
    assert done
    estab, listen = rows
    assert (estab["state"], estab["recv_q"], estab["send_q"]) == ("ESTAB", 5, 70000)
    assert (estab["local"], estab["peer"]) == ("10.213.0.1:139", "10.213.0.10:40000")
    assert estab["info"] == {"backoff": 3, "retrans": 2, "rtt": 1.5, "rttvar": 0.75,
                             "retrans_total": 9, "bytes_acked": 10, "bytes_received": 1024}
    assert (listen["state"], listen["peer"]) == ("LISTEN", "0.0.0.0:*")


def test_a_partial_answer_is_not_done():
    rows, done = parse_messages(_msg(1, ("10.0.0.1", 1), ("10.0.0.2", 2), 0, 0))
    assert len(rows) == 1 and not done


def test_error_answer_and_malformed_messages_raise_diag_error():
    enoent = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -2) + bytes(16)
    with pytest.raises(DiagError) as err:
        parse_messages(enoent)
    assert err.value.errno == 2
    with pytest.raises(DiagError):
        parse_messages(struct.pack("=IHHII", 999, 20, 0, 1, 0))  # length past the datagram
    with pytest.raises(DiagError):
        parse_messages(struct.pack("=IHHII", 24, 20, 0, 1, 0) + bytes(8))  # too short a body


def test_short_tcp_info_gives_what_it_has():
    assert parse_tcp_info(bytes(8)) == {"backoff": 0}
    assert parse_tcp_info(b"") == {}


def test_split_addr():
    assert split_addr("10.0.0.1:139") == ("10.0.0.1", 139)
    assert split_addr("[::1]:445") == ("::1", 445)


def _as_reply(msg: bytes, seq: int, pid: int) -> bytes:
    """``msg`` with its nlmsghdr's seq and pid set (the kernel's reply to request seq)."""
    return msg[:8] + struct.pack("=II", seq, pid) + msg[16:]


def _enoent(seq: int, pid: int) -> bytes:
    body = struct.pack("=i", -2) + bytes(16)
    return struct.pack("=IHHII", 16 + len(body), 2, 0, seq, pid) + body


def test_own_messages_keeps_only_the_answers_to_this_request():
    row = _msg(1, ("10.0.0.1", 139), ("10.0.0.10", 40000), 0, 0)
    stale, mine = _as_reply(row, 6, 77), _as_reply(row, 7, 77)
    assert own_messages(stale + mine, 7, 77) == mine
    assert own_messages(stale, 7, 77) == b""
    assert own_messages(_as_reply(row, 7, 78), 7, 77) == b""  # another port's
    assert parse_messages(own_messages(_enoent(6, 77) + mine, 7))[0][0]["peer"] == "10.0.0.10:40000"


class _Kernel:
    """The netlink socket's two calls, answered with hand-built datagrams in order."""

    def __init__(self, datagrams: list[bytes]) -> None:
        self.datagrams = datagrams

    def sendto(self, data, addr):
        return len(data)

    def recv(self, n):
        if not self.datagrams:
            raise socket.timeout("timed out")
        return self.datagrams.pop(0)

    def settimeout(self, t):
        pass

    def close(self):
        pass


def test_a_stale_reply_left_by_a_timed_out_query_never_answers_the_next_lookup():
    """A 'gone' (ENOENT) meant for an earlier request, still queued, once answered the next
    lookup: false evidence that the connection was gone."""
    from harness.lab.sockdiag import TcpTable

    table = TcpTable(None)
    table._sock.close()
    table._portid = 4242
    row = _msg(1, ("10.0.0.1", 139), ("10.0.0.10", 40000), 0, 0)
    table._sock = _Kernel([_enoent(99, 4242), _as_reply(row, 1, 4242)])  # the lookup is seq 1
    found = table.lookup("10.0.0.1:139", "10.0.0.10:40000")
    assert found is not None and found.state == "ESTAB"
