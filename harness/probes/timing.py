"""Waiting without the machine's wake-up cost: the probes' send and receive waits.

A process that sleeps is woken late on a virtual machine (by milliseconds), and that lateness
would be counted as the server's latency. So a probe sleeps until shortly before its send
time and waits the rest actively, and after sending it polls its socket actively for a short
while before it blocks: a healthy server's answer (tens to hundreds of microseconds) is taken
without a wake-up, while a stalled server's costs no more CPU than ``spin_s`` per operation.

The wait for an answer is short (RECV_SPIN_S): a real-time prober that polls holds a core,
and with the other core busy (another prober's wait before its send, an smbd serving a
write) a normal-priority server has none left to answer on until the poll ends: a long poll
shows up as the server's latency (docs/pages/scenarios.md, "What is timed, and when it is
sent").
"""

from __future__ import annotations

import socket
import time

SPIN_S = 0.002  # default active wait before a send
RECV_SPIN_S = 0.0003  # and for an answer after it


def send_at(deadline_monotonic: float, spin_s: float = SPIN_S) -> float:
    """Return at ``deadline_monotonic`` (the monotonic time then): sleep until ``spin_s``
    before it, then wait the rest actively."""
    now = time.monotonic()
    if deadline_monotonic - now > spin_s:
        time.sleep(deadline_monotonic - now - spin_s)
    while (now := time.monotonic()) < deadline_monotonic:
        pass
    return now


def recv_polling(
    sock: socket.socket, bufsize: int, deadline_monotonic: float, spin_s: float = RECV_SPIN_S
) -> bytes:
    """sock.recv(bufsize), polled actively for up to ``spin_s``, then blocking until the
    deadline (socket.timeout after it). The socket's timeout is as it was before, whatever
    the outcome (an answer during the poll once left it non-blocking)."""
    before = sock.gettimeout()
    spin_until = min(time.monotonic() + spin_s, deadline_monotonic)
    sock.settimeout(0.0)  # with a timeout set, Python would poll() before every recv
    try:
        while True:
            try:
                return sock.recv(bufsize)
            except BlockingIOError:
                if time.monotonic() >= spin_until:
                    break
        remaining = deadline_monotonic - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(remaining)
        return sock.recv(bufsize)
    finally:
        sock.settimeout(before)
