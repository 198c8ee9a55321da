"""A terminating signal that arrives during a fork is held until the fork is over, then
handled where the handler can unwind (inside logging's at-fork hook, Python ignored it and
the interrupted run went on: seen by the interrupt chaos benchmark)."""

import os
import signal

from harness.lab.inns import FORK, release_held_signals, start_holding_signals


def test_a_signal_during_the_fork_is_handled_right_after_it():
    seen = []
    old = signal.signal(signal.SIGHUP, lambda *a: seen.append("handled"))
    try:
        class Proc:
            def start(self):
                os.kill(os.getpid(), signal.SIGHUP)
                seen.append("forked")  # the handler has not run yet: the signal is held

        start_holding_signals(Proc())
        assert seen == ["forked", "handled"]
    finally:
        signal.signal(signal.SIGHUP, old)


def _blocked_in_child(conn):
    release_held_signals()
    with open("/proc/self/status") as f:
        blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    conn.send(blocked & (1 << (signal.SIGTERM - 1)))
    os._exit(0)


def test_the_child_takes_the_signals_again():
    parent, child = FORK.Pipe()
    proc = FORK.Process(target=_blocked_in_child, args=(child,))
    start_holding_signals(proc)
    assert parent.poll(10) and parent.recv() == 0
    proc.join(5)
    with open("/proc/self/status") as f:  # and the parent's mask is as it was
        blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    assert not blocked & (1 << (signal.SIGTERM - 1))
