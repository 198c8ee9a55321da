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


def _signal_during_a_fork_beside_a_thread(conn):
    import threading
    import time

    from harness.lab.inns import start_without_signals

    seen, stop = [], threading.Event()
    signal.signal(signal.SIGHUP, lambda *a: seen.append("handled"))
    helper = threading.Thread(target=stop.wait, daemon=True)  # as the progress or capture thread
    start_without_signals(helper)
    with open(f"/proc/self/task/{helper.native_id}/status") as f:
        blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))

    class Proc:
        def start(self):
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)  # a thread that took the signal would have the handler run here
            seen.append("forked")

    start_holding_signals(Proc())
    stop.set()
    conn.send((seen, [bool(blocked & (1 << (s - 1))) for s in (signal.SIGINT, signal.SIGTERM,
                                                               signal.SIGHUP)]))
    os._exit(0)


def test_a_helper_thread_does_not_take_a_signal_held_during_the_fork():
    # The runner has helper threads (progress on a terminal, the flow capture): each blocks
    # the terminating signals, so a signal sent during a fork still waits for the main thread.
    parent, child = FORK.Pipe()
    proc = FORK.Process(target=_signal_during_a_fork_beside_a_thread, args=(child,))
    proc.start()
    assert parent.poll(10), "the child did not report"
    seen, blocked = parent.recv()
    assert blocked == [True, True, True]
    assert seen == ["forked", "handled"]
    proc.join(5)
