"""The replica's hold policy, a pure state machine, on hand-written timelines."""

from harness.replica.hold import Hold


def test_a_counted_loss_freezes_until_hold_s_later_then_end_relays_again():
    hold = Hold("any", hold_s=1.0, degrade_ms=0.0)
    assert hold.fast and not hold.frozen
    d = hold.on_loss("reset", now_s=10.0)
    assert (d.action, d.extended, d.until_s) == ("freeze", False, 11.0)
    assert hold.frozen and not hold.fast and not hold.degrading
    hold.note_held(nbytes=100)
    hold.note_held(datagrams=1)
    summary = hold.end(now_s=11.0)
    assert summary == {"action": "freeze", "held_s": 1.0, "held_bytes": 100, "held_datagrams": 1}
    assert hold.fast and not hold.frozen and hold.until_s is None


def test_a_loss_during_a_hold_extends_it_from_the_latest_loss_never_stacks():
    hold = Hold("any", hold_s=1.0, degrade_ms=0.0)
    hold.on_loss("reset", now_s=10.0)
    hold.note_held(nbytes=5)
    d = hold.on_loss("timeout", now_s=10.4)
    assert (d.extended, d.until_s) == (True, 11.4)
    assert hold.end(now_s=11.4) == {"action": "freeze", "held_s": 1.4, "held_bytes": 5,
                                    "held_datagrams": 0}


def test_uncounted_losses_change_nothing():
    hold = Hold("reset", hold_s=1.0, degrade_ms=0.0)
    d = hold.on_loss("timeout", now_s=1.0)
    assert (d.action, d.extended, d.until_s) == ("ignored", False, None)
    assert hold.fast and hold.until_s is None
    assert Hold("never", 1.0, 0.0).on_loss("reset", 1.0).action == "ignored"


def test_degrade_mode_delays_instead_of_freezing():
    hold = Hold("any", hold_s=2.0, degrade_ms=20.0)
    d = hold.on_loss("reset", now_s=0.0)
    assert d.action == "degrade" and hold.degrading and not hold.frozen and not hold.fast
    assert hold.degrade_s == 0.02
    assert hold.end(now_s=2.0)["action"] == "degrade" and hold.fast


def test_a_new_hold_after_an_end_counts_afresh():
    hold = Hold("any", hold_s=1.0, degrade_ms=0.0)
    hold.on_loss("reset", now_s=0.0)
    hold.note_held(nbytes=7)
    hold.end(now_s=1.0)
    hold.on_loss("reset", now_s=5.0)
    assert hold.end(now_s=6.0) == {"action": "freeze", "held_s": 1.0, "held_bytes": 0,
                                   "held_datagrams": 0}
