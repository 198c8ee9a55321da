"""The runner's side of the pipe protocol, over a real pipe (no process forked)."""

from multiprocessing import Pipe

import pytest

from harness.errors import HarnessError
from harness.procs import protocol
from harness.procs.protocol import HoldingNotGranted, poll_dropped, read_setup


def test_ready_hands_on_the_clients_info():
    runner, client = Pipe()
    client.send((protocol.READY, {"pid": 7}))
    assert read_setup(runner, "c1") == {"pid": 7}


def test_a_refused_holding_and_a_set_up_error_are_told_apart():
    runner, client = Pipe()
    client.send((protocol.NOT_GRANTED, "level II instead of exclusive"))
    with pytest.raises(HoldingNotGranted, match="level II"):
        read_setup(runner, "victim")
    client.send((protocol.ERROR, "c1: connection refused"))
    with pytest.raises(HarnessError, match="c1: connection refused") as caught:
        read_setup(runner, "c1")
    assert not isinstance(caught.value, HoldingNotGranted)


def test_a_client_gone_during_set_up_is_named():
    runner, client = Pipe()
    client.close()
    with pytest.raises(HarnessError, match="c2: client process died during set-up"):
        read_setup(runner, "c2")


def test_the_victims_drop_detail_or_nothing():
    runner, victim = Pipe()
    assert poll_dropped(runner, 0.01) is None  # nothing yet
    victim.send((protocol.DONE, {}))
    assert poll_dropped(runner, 0.01) is None  # not the drop
    victim.send((protocol.DROPPED, {"rst_sent": True}))
    assert poll_dropped(runner, 0.01) == {"rst_sent": True}
    victim.close()
    with pytest.raises(EOFError):
        poll_dropped(runner, 0.01)


def test_every_message_has_one_distinct_name():
    names = [
        protocol.READY,
        protocol.ERROR,
        protocol.NOT_GRANTED,
        protocol.START,
        protocol.DROPPED,
        protocol.DONE,
        protocol.ARMED,
        protocol.WATCHING,
    ]
    assert len(set(names)) == len(names)


def test_the_start_sets_the_clients_clock_once_set_up_is_frozen_out_of_the_collector(tmp_path):
    # a full collection during the timed phases walks only what they allocate
    import gc

    from harness.history import HistoryWriter

    runner, client = Pipe()
    runner.send((protocol.START, 12.5))
    writer = HistoryWriter(str(tmp_path / "events.jsonl"), "c1")
    gc.unfreeze()
    try:
        assert protocol.ready_then_start(client, {"pid": 7}, writer) == 12.5
        assert writer.t0 == 12.5
        assert gc.get_freeze_count() > 0
        assert runner.recv() == (protocol.READY, {"pid": 7})
    finally:
        gc.unfreeze()


def test_a_victim_of_several_drops_arms_each_and_waits_to_be_watched():
    runner, victim = Pipe()
    assert protocol.poll_victim(runner) is None  # nothing said yet: no wait
    protocol.armed(victim, 3, "10.0.0.11:40000")
    assert protocol.poll_victim(runner) == (
        protocol.ARMED,
        {"index": 3, "local": "10.0.0.11:40000"},
    )
    assert protocol.await_watching(victim, 3, 0.01) is False  # the runner has not answered
    protocol.send_watching(runner, 2)  # a late answer to the drop before
    protocol.send_watching(runner, 3)
    assert protocol.await_watching(victim, 3, 1.0) is True
    protocol.dropped(victim, {"sent": "RST", "index": 3})
    assert protocol.poll_victim(runner) == (protocol.DROPPED, {"sent": "RST", "index": 3})
    victim.close()
    with pytest.raises(EOFError):
        protocol.poll_victim(runner)
