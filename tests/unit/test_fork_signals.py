"""A terminating signal that arrives during a fork is held until the fork is over, then
handled where the handler can unwind (inside logging's at-fork hook, Python ignored it and
the interrupted run went on: seen by the interrupt chaos benchmark)."""

import os
import signal

from harness.lab.inns import FORK, release_held_signals, start_holding_signals


def _signal_during_a_fork(conn):
    seen = []
    signal.signal(signal.SIGHUP, lambda *a: seen.append("handled"))

    class Proc:
        def start(self):
            os.kill(os.getpid(), signal.SIGHUP)
            seen.append("forked")  # the handler has not run yet: the signal is held

    start_holding_signals(Proc())
    conn.send(seen)
    os._exit(0)


def test_a_signal_during_the_fork_is_handled_right_after_it():
    # In a child of its own, single-threaded as the runner is: in a process with another
    # thread (an xdist worker's, a thread an earlier test left) the kernel delivers a
    # process-directed signal to a thread that does not hold it, and the handler then runs
    # in the main thread at once, signals held there or not.
    parent, child = FORK.Pipe()
    proc = FORK.Process(target=_signal_during_a_fork, args=(child,))
    proc.start()
    assert parent.poll(10), "the child did not report"
    assert parent.recv() == ["forked", "handled"]
    proc.join(5)


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
