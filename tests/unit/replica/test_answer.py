"""The replica's grant_reclaim control, pure parts: which client messages the relay answers
itself (a durable reconnect, never any other CREATE), what goes upstream around them (whole
frames, in order), and the options that say so."""

import pytest

from harness.errors import BadInput
from harness.packets.smb2_create import (
    chain,
    durable_v1,
    durable_v1_reconnect,
    parse_create_response,
)
from harness.replica.answer import answer_for, store_and_forward
from harness.replica.config import ReplicaConfig
from harness.replica.framing import FrameTracker
from harness.replica.lose import WriteLoss
from harness.targets.spec import make_target, parse_target
from tests.unit.packets.test_smb2_reclaim import FILE_ID, create_request


class Pipe:
    def __init__(self):
        self.pushed = []

    def push(self, data):
        self.pushed.append(bytes(data))


class Relay:
    def __init__(self, grant_reclaim=True):
        self.config = ReplicaConfig("127.0.0.1", "127.0.0.2", grant_reclaim=grant_reclaim)
        self.write_loss = WriteLoss(0)
        self.granted = []

    def note_granted_reclaim(self, session, handle, file_id):
        self.granted.append((handle, file_id))


class Connection:
    """What store_and_forward reads and writes of a relayed client connection."""

    def __init__(self, relay):
        self.relay, self.peer_host, self.unsent, self.outstanding = relay, "10.213.0.11", b"", 0
        self.client_frames, self.server_frames = FrameTracker(), FrameTracker()
        self.up, self.down = Pipe(), Pipe()

    def feed(self, data):
        frames = self.client_frames.feed(data)
        self.outstanding += len(frames)
        store_and_forward(self, data, frames)


def framed(message):
    return len(message).to_bytes(4, "big") + message


RECLAIM = create_request(chain([durable_v1_reconnect(FILE_ID)]))
OPEN = create_request(chain([durable_v1()]))


def test_only_a_durable_reconnect_is_answered_and_only_when_granting():
    conn = Connection(Relay())
    answer = answer_for(conn, RECLAIM[:64], RECLAIM, 0, len(RECLAIM))
    assert answer[:4] == (len(answer) - 4).to_bytes(4, "big")
    assert parse_create_response(answer[4 + 64:])["file_id"] == (0x11, 0x22)
    assert conn.relay.granted == [("DHnC", FILE_ID)]
    assert answer_for(conn, OPEN[:64], OPEN, 0, len(OPEN)) is None
    fair = Connection(Relay(grant_reclaim=False))
    assert answer_for(fair, RECLAIM[:64], RECLAIM, 0, len(RECLAIM)) is None


def test_the_reclaim_is_taken_out_and_everything_around_it_goes_up_in_order():
    conn = Connection(Relay())
    stream = framed(OPEN) + framed(RECLAIM) + framed(OPEN)
    conn.feed(stream[:10])  # part of a frame: held back until it is whole
    assert conn.up.pushed == [] and conn.unsent == stream[:10]
    conn.feed(stream[10:])
    assert b"".join(conn.up.pushed) == framed(OPEN) + framed(OPEN)
    assert len(conn.down.pushed) == 1 and conn.outstanding == 2
    assert conn.unsent == b""


def test_grant_reclaim_is_an_option_of_the_replica_target_and_of_the_relay():
    spec = parse_target("replica:never,reclaim=grant")
    target = make_target(spec)
    assert target.grant_reclaim and target.name == "replica:never,reclaim=grant"
    assert "grant every durable reclaim" in target.describe()
    with pytest.raises(BadInput, match="reclaim='maybe': expected grant"):
        make_target(parse_target("replica:never,reclaim=maybe"))
    with pytest.raises(BadInput, match="cannot be combined"):
        make_target(parse_target("replica:any,hold=create,reclaim=grant"))
    with pytest.raises(BadInput, match="cannot be combined"):
        ReplicaConfig("127.0.0.1", "127.0.0.2", holds="lock", grant_reclaim=True)
    from harness.replica.cli import config_from_args

    assert config_from_args(["--listen", "127.0.0.1", "--upstream", "127.0.0.2",
                             "--grant-reclaim"]).grant_reclaim
