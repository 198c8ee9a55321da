"""A terminating signal that arrives during a fork is held until the fork is over, then
handled where the handler can unwind (inside logging's at-fork hook, Python ignored it and
the interrupted run went on: seen by the interrupt chaos benchmark)."""

import os
import signal
import threading
import time

from harness.lab.inns import FORK, release_held_signals, start_holding_signals, start_without_signals

TERMINATING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _blocked(status_path="/proc/self/status") -> list[bool]:
    """Whether SIGINT, SIGTERM and SIGHUP are blocked, from a task's SigBlk mask."""
    with open(status_path) as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    return [bool(mask & (1 << (s - 1))) for s in TERMINATING]


def _signal_during_a_fork(conn, helper_thread: bool):
    """In the child: SIGHUP sent to itself during a (pretend) fork started with the signals
    held, optionally beside a helper thread (as the progress or capture thread) started by
    start_without_signals; sends (what happened in order, the helper's blocked signals)."""
    seen, stop = [], threading.Event()
    signal.signal(signal.SIGHUP, lambda *a: seen.append("handled"))
    helper_blocked = None
    if helper_thread:
        helper = threading.Thread(target=stop.wait, daemon=True)
        start_without_signals(helper)
        helper_blocked = _blocked(f"/proc/self/task/{helper.native_id}/status")

    class Proc:
        def start(self):
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)  # a thread that took the signal would have the handler run here
            seen.append("forked")  # the handler has not run yet: the signal is held

    start_holding_signals(Proc())
    stop.set()
    conn.send((seen, helper_blocked))
    os._exit(0)


def _in_a_child(target, *args):
    parent, child = FORK.Pipe()
    proc = FORK.Process(target=target, args=(child, *args))
    proc.start()
    assert parent.poll(10), "the child did not report"
    out = parent.recv()
    proc.join(5)
    return out


def test_a_signal_during_the_fork_is_handled_right_after_it():
    # In a child of its own, single-threaded as the runner is: in a process with another
    # thread (an xdist worker's, a thread an earlier test left) the kernel delivers a
    # process-directed signal to a thread that does not hold it, and the handler then runs
    # in the main thread at once, signals held there or not.
    assert _in_a_child(_signal_during_a_fork, False) == (["forked", "handled"], None)


def test_a_helper_thread_does_not_take_a_signal_held_during_the_fork():
    # The runner has helper threads (progress on a terminal, the flow capture): each blocks
    # the terminating signals, so a signal sent during a fork still waits for the main thread.
    assert _in_a_child(_signal_during_a_fork, True) == (["forked", "handled"], [True, True, True])


def _blocked_in_child(conn):
    release_held_signals()
    conn.send(_blocked())
    os._exit(0)


def test_the_child_takes_the_signals_again():
    parent, child = FORK.Pipe()
    proc = FORK.Process(target=_blocked_in_child, args=(child,))
    start_holding_signals(proc)
    assert parent.poll(10) and parent.recv() == [False, False, False]
    proc.join(5)
    assert _blocked() == [False, False, False]  # and the parent's mask is as it was
