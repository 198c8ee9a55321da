"""Property-based tests (Hypothesis): the wire parsers, the replica's framing and scenario
loading take any input and either succeed or raise their own error type, within a deadline
(a parser that loops fails the deadline). Example counts are fixed so the whole module runs
in a few seconds."""

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import BadInput
from harness.packets.nbt import (
    MalformedPacket,
    decode_name,
    encode_name,
    parse_node_status_response,
    parse_session_header,
)
from harness.packets.tcp import Segment, parse_ipv4_tcp
from harness.replica.framing import Frame, FrameTracker, frame_header, smb_message_kind
from harness.scenario.model import TOP_KEYS, Scenario, from_dict

FUZZ = settings(
    max_examples=300,
    deadline=500,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _own_error_only(fn, *args, error=MalformedPacket):
    try:
        return fn(*args)
    except error:
        return None


# --- NBT / NBSTAT -----------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=8))
def test_session_header_parser(data):
    out = _own_error_only(parse_session_header, data)
    if out is not None:
        ptype, length = out
        assert len(data) == 4 and 0 <= length <= 0x1FFFF


@FUZZ
@given(st.binary(max_size=300), st.integers(0, 320))
def test_decode_name_on_garbage(data, offset):
    out = _own_error_only(decode_name, data, offset)
    if out is not None:
        name, suffix, nxt = out
        assert isinstance(name, str) and 0 <= suffix <= 255 and nxt > offset


def _pointer(to: int) -> bytes:
    return struct.pack(">H", 0xC000 | to)


# A name-service response assembled from pieces that look like the real thing (header,
# encoded names, compression pointers anywhere, an NBSTAT record, random rdata), so the
# parser's deeper branches are reached, not only its length checks.
PIECES = st.one_of(
    st.binary(max_size=40),
    st.integers(0, 120).map(_pointer),
    st.sampled_from([encode_name("*", 0), encode_name("NBTHSRV", 0x20), b"\x00"]),
    st.builds(
        lambda n, rdlen: struct.pack(">HHIH", 0x21, 1, 0, rdlen) + bytes([n]),
        st.integers(0, 5),
        st.integers(0, 200),
    ),
)


@FUZZ
@given(
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 3),
    st.integers(0, 3),
    st.lists(PIECES, max_size=8),
)
def test_node_status_parser_on_near_valid_packets(trn, flags, qd, an, pieces):
    data = struct.pack(">HHHHHH", trn, flags, qd, an, 0, 0) + b"".join(pieces)
    status = _own_error_only(parse_node_status_response, data)
    if status is not None:
        assert status.transaction_id == trn and all(0 <= n.suffix <= 255 for n in status.names)


@FUZZ
@given(st.binary(max_size=600))
def test_node_status_parser_on_garbage(data):
    _own_error_only(parse_node_status_response, data)


# --- TCP (capture) ---------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=120))
def test_ipv4_tcp_parser_never_raises(data):
    out = parse_ipv4_tcp(data)  # its contract: a Segment or None, nothing raised
    assert out is None or (isinstance(out, Segment) and out.payload_len >= 0)


@FUZZ
@given(st.binary(min_size=20, max_size=20), st.binary(max_size=80))
def test_ipv4_tcp_parser_on_tcp_looking_packets(header, rest):
    data = bytes([0x40 | (header[0] & 0x0F)]) + header[1:9] + b"\x06" + header[10:] + rest
    out = parse_ipv4_tcp(data)
    assert out is None or 0 <= out.sport <= 0xFFFF


# --- the replica's framing -----------------------------------------------------------------------


FRAMES = st.lists(
    st.tuples(st.sampled_from([0x00, 0x81, 0x82, 0x83, 0x85]), st.binary(max_size=300)), max_size=6
)


def _stream(frames) -> bytes:
    out = b""
    for ptype, body in frames:
        if ptype == 0x00:
            out += bytes([0]) + len(body).to_bytes(3, "big") + body
        else:
            out += struct.pack(">BBH", ptype, 0, len(body)) + body
    return out


@FUZZ
@given(FRAMES, st.lists(st.integers(1, 64), min_size=1, max_size=30))
def test_framing_is_independent_of_how_the_stream_is_cut(frames, cuts):
    stream = _stream(frames)
    whole = FrameTracker().feed(stream)
    tracker, pieces, pos, i = FrameTracker(), [], 0, 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        pieces += tracker.feed(stream[pos : pos + step])
        pos, i = pos + step, i + 1
    assert pieces == whole
    assert [(f.packet_type, f.length) for f in whole] == [(t, len(b)) for t, b in frames]
    assert not tracker.incomplete


@FUZZ
@given(st.lists(st.binary(max_size=100), max_size=10))
def test_framing_takes_any_bytes(chunks):
    tracker = FrameTracker()
    for chunk in chunks:
        frames = tracker.feed(chunk)
        assert all(isinstance(f, Frame) and f.length >= 0 for f in frames)
    assert tracker.pending_type is None or 0 <= tracker.pending_type <= 255


@FUZZ
@given(st.binary(max_size=8), st.binary(max_size=64), st.booleans())
def test_frame_header_and_message_kind(header, head, from_client):
    _own_error_only(frame_header, header)
    assert smb_message_kind(head, from_client) in ("request", "response", "no_reply", "unsolicited")
    for magic in (b"\xfeSMB", b"\xffSMB"):
        assert smb_message_kind(magic + head, from_client) in (
            "request",
            "response",
            "no_reply",
            "unsolicited",
        )


# --- scenario loading: any TOML value is a scenario or one line of BadInput ------------------


TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
KNOWN_SUBKEYS = [
    "warmup_s",
    "baseline_s",
    "fault_s",
    "recovery_s",
    "nbstat",
    "nbt_session",
    "smb_echo",
    "smb_rw",
    "p99_floor_ms",
    "p99_factor",
    "max_floor_ms",
    "max_factor",
    "max_errors",
    "per_probe",
    "mode",
    "params",
    "rst",
    "netem",
    "echo_interval_s",
    "read_total_bytes",
]
SUB_TABLES = st.dictionaries(st.sampled_from(KNOWN_SUBKEYS), TOML_VALUES, max_size=4)
NEAR_VALID = st.fixed_dictionaries(
    {"name": st.one_of(st.just("fuzz"), TOML_SCALARS)},
    optional={
        k: (SUB_TABLES | TOML_VALUES)
        if k in ("phases", "probes", "bounds", "drop")
        else TOML_VALUES
        for k in sorted(TOP_KEYS - {"name"})
    },
)


def _scenario_or_one_line(value):
    try:
        sc = from_dict(value, "fuzz.toml")
    except BadInput as exc:
        text = str(exc)
        assert text.startswith("fuzz.toml: ") and "\n" not in text and len(text) < 400, text
        return None
    assert isinstance(sc, Scenario)
    assert 0 < sc.phases.total_s <= 7200 and 1 <= sc.healthy_clients <= 32
    return sc


@FUZZ
@given(TOML_VALUES)
def test_any_toml_value_is_a_scenario_or_one_line(value):
    _scenario_or_one_line(value)


@settings(
    max_examples=200,
    deadline=500,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(NEAR_VALID)
def test_near_valid_scenarios_are_valid_or_one_line(value):
    sc = _scenario_or_one_line(value)
    if sc is not None:  # a valid scenario survives its own dict form unchanged
        assert from_dict(sc.to_dict(), "again").to_dict() == sc.to_dict()
