import pytest

from harness.packets.nbt import (
    MalformedPacket,
    NameQueryAnswer,
    decode_name,
    encode_name,
    name_query_request,
    node_status_request,
    parse_name_query_response,
    parse_node_status_response,
    parse_session_header,
    session_header,
    session_request,
)

# '*' padded with NULs, suffix 0x00: "CK" then 30 x "A" (RFC 1002 4.2.17's wildcard query).
WILDCARD = b"\x20" + b"CK" + b"A" * 30 + b"\x00"


def test_encode_wildcard_name_pads_with_nuls():
    assert encode_name("*", 0x00) == WILDCARD


def test_encode_server_name_pads_with_spaces_and_suffix():
    # "NBTHSRV" + 8 spaces + 0x20: N=0x4e -> "EO", space 0x20 -> "CA"
    enc = encode_name("nbthsrv", 0x20)
    assert enc[:1] == b"\x20" and enc[-1:] == b"\x00"
    assert enc[1:3] == b"EO"  # 'N'
    assert enc[15:33] == b"CA" * 8 + b"CA"  # 8 spaces, then suffix 0x20
    assert decode_name(enc) == ("NBTHSRV", 0x20, 34)


def test_encode_rejects_long_names():
    with pytest.raises(ValueError):
        encode_name("X" * 16)


def test_node_status_request_literal_bytes():
    assert node_status_request(0x1234) == (
        b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + WILDCARD + b"\x00\x21\x00\x01")


def test_session_request_literal_header_and_names():
    pkt = session_request("SRV", "CLI")
    assert pkt[:4] == b"\x81\x00\x00\x44"  # two 34-byte names
    assert decode_name(pkt, 4)[:2] == ("SRV", 0x20)
    assert decode_name(pkt, 38)[:2] == ("CLI", 0x00)


def test_session_header_17_bit_length():
    assert session_header(0x00, 0x1FFFF) == b"\x00\x01\xff\xff"
    assert parse_session_header(b"\x00\x01\x00\x10") == (0x00, 0x10010)
    with pytest.raises(ValueError):
        session_header(0x00, 0x20000)


@pytest.mark.parametrize("raw", [b"\x42\x00\x00\x00", b"\x00\x02\x00\x00", b"\x82\x00"])
def test_parse_session_header_rejects_garbage(raw):
    with pytest.raises(MalformedPacket):
        parse_session_header(raw)


def _response(names: list[tuple[bytes, int, int]], trn_id=0x0102, pointer=False) -> bytes:
    header = b"\x01\x02\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    name = b"\xc0\x0c" if pointer else WILDCARD
    rdata = bytes([len(names)])
    for raw, suffix, flags in names:
        rdata += raw.ljust(15, b" ") + bytes([suffix]) + flags.to_bytes(2, "big")
    rdata += b"\x00\x11\x22\x33\x44\x55" + b"\x00" * 40
    return header + name + b"\x00\x21\x00\x01" + b"\x00" * 4 + len(rdata).to_bytes(2, "big") + rdata


def test_parse_node_status_response():
    status = parse_node_status_response(_response(
        [(b"NBTHSRV", 0x00, 0x0400), (b"NBTHSRV", 0x20, 0x0400), (b"NBTLAB", 0x00, 0x8400)]))
    assert status.transaction_id == 0x0102
    assert [n.name for n in status.names] == ["NBTHSRV", "NBTHSRV", "NBTLAB"]
    assert status.names[2].is_group
    assert status.server_name() == "NBTHSRV"
    assert status.unit_id == b"\x00\x11\x22\x33\x44\x55"


@pytest.mark.parametrize("cut", [5, 20, 50, 60])
def test_parse_node_status_response_truncated(cut):
    with pytest.raises(MalformedPacket):
        parse_node_status_response(_response([(b"A", 0x20, 0)])[:cut])


def test_parse_node_status_rejects_a_query():
    with pytest.raises(MalformedPacket):
        parse_node_status_response(node_status_request(1))


HOSTILE_NAME = b"\x1b]0;pwn\x07\x1b[2J\x7f\xffA"  # 15 bytes: title set, screen clear, DEL, 8-bit


def test_node_status_names_from_a_hostile_server_come_out_printable():
    status = parse_node_status_response(_response([(HOSTILE_NAME, 0x20, 0x0400)]))
    assert status.server_name() == "?]0;pwn??[2J??A"
    assert status.server_name().isprintable() and status.server_name().isascii()


def test_the_name_remote_discovery_prints_is_printable_on_a_real_socket():
    """node_status (what RemoteTarget.start learns the server's name with, then prints in
    'target ... ready') against a loopback UDP socket that answers a crafted NBSTAT."""
    import socket
    import threading

    from harness.probes.nbstat import node_status

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)

    def answer():
        query, peer = server.recvfrom(2048)
        server.sendto(query[:2] + _response([(HOSTILE_NAME, 0x20, 0x0400)])[2:], peer)

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    with server:
        name = node_status("127.0.0.1", server.getsockname()[1], 2.0).server_name()
    t.join(5)
    assert name == "?]0;pwn??[2J??A" and "\x1b" not in name and "\x07" not in name


# NBTHSRV<20>, first-level encoded by hand (RFC 1001 14.1): N=4E -> "EO", B=42 -> "EC",
# T=54 -> "FE", H=48 -> "EI", S=53 -> "FD", R=52 -> "FC", V=56 -> "FG", 8 spaces and the
# suffix 0x20 -> "CA" each.
NBTHSRV_20 = b"\x20EOECFEEIFDFCFG" + b"CA" * 9 + b"\x00"


def test_name_query_request_literal_bytes():
    assert name_query_request(0x1234, "nbthsrv") == (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + NBTHSRV_20 + b"\x00\x20\x00\x01")


def test_parse_positive_name_query_response():
    data = (b"\x12\x34\x85\x00\x00\x00\x00\x01\x00\x00\x00\x00" + NBTHSRV_20
            + b"\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x0c"
            + b"\x00\x00\x0a\xd5\x00\x01" + b"\x60\x00\xc0\xa8\x00\x02")
    answer = parse_name_query_response(data)
    assert answer == NameQueryAnswer(0x1234, 0, "NBTHSRV", 0x20, ("10.213.0.1", "192.168.0.2"))


def test_parse_negative_name_query_response():
    data = (b"\x00\x07\x85\x03\x00\x00\x00\x01\x00\x00\x00\x00" + NBTHSRV_20
            + b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00")
    answer = parse_name_query_response(data)
    assert (answer.transaction_id, answer.rcode, answer.addresses) == (7, 3, ())


@pytest.mark.parametrize("data, why", [
    (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + NBTHSRV_20 + b"\x00\x20\x00\x01", "not a response"),
    (b"\x12\x34\x85\x00\x00\x00\x00\x00\x00\x00\x00\x00", "no answer record"),
    (b"\x12\x34\x85\x00\x00\x00\x00\x01\x00\x00\x00\x00" + NBTHSRV_20
     + b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x05\x00\x00\x0a\xd5\x00", "6-byte entries"),
    (b"\x12\x34\xa8\x00\x00\x00\x00\x01\x00\x00\x00\x00" + NBTHSRV_20, "opcode"),
])
def test_parse_name_query_response_rejects_what_is_not_one(data, why):
    with pytest.raises(MalformedPacket, match=why):
        parse_name_query_response(data)
