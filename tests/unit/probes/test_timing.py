"""The probes' waits on real sockets: on time, answers taken while polling, timeouts kept."""

import socket
import threading
import time

import pytest

from harness.probes.timing import recv_polling, send_at


def test_send_at_returns_at_the_deadline_not_before():
    for ahead_s in (0.0005, 0.005, 0.02):
        deadline = time.monotonic() + ahead_s
        now = send_at(deadline, spin_s=0.002)
        assert now >= deadline
        assert now - deadline < 0.05  # generous: a shared machine may preempt


def test_a_past_deadline_returns_at_once():
    t = time.monotonic()
    assert send_at(t - 1.0) - t < 0.01


def test_recv_polling_takes_an_answer_that_is_already_there_and_one_that_comes_later():
    a, b = socket.socketpair()
    with a, b:
        b.send(b"now")
        assert recv_polling(a, 100, time.monotonic() + 1) == b"now"
        threading.Timer(0.05, lambda: b.send(b"later")).start()  # after the polling window
        assert recv_polling(a, 100, time.monotonic() + 2, spin_s=0.001) == b"later"


def test_recv_polling_times_out_at_the_deadline():
    a, b = socket.socketpair()
    with a, b:
        t = time.monotonic()
        with pytest.raises(socket.timeout):
            recv_polling(a, 100, t + 0.1, spin_s=0.01)
        assert 0.09 <= time.monotonic() - t < 1.0


def test_recv_polling_leaves_the_socket_timeout_as_it_was_on_every_outcome():
    """An answer during the busy poll once left the socket non-blocking (timeout 0): the
    next sendall could then fail with BlockingIOError on a full buffer."""
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5.0)
        b.send(b"now")
        assert recv_polling(a, 100, time.monotonic() + 1) == b"now"  # answered while polling
        assert a.gettimeout() == 5.0
        threading.Timer(0.05, lambda: b.send(b"later")).start()
        assert recv_polling(a, 100, time.monotonic() + 2, spin_s=0.001) == b"later"
        assert a.gettimeout() == 5.0
        with pytest.raises(socket.timeout):
            recv_polling(a, 100, time.monotonic() + 0.05, spin_s=0.01)
        assert a.gettimeout() == 5.0
