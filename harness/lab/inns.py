"""Run one function in a forked child that has entered a network namespace."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

from harness.errors import InfraError
from harness.lab.netns import enter_netns

FORK = multiprocessing.get_context("fork")
PR_SET_PDEATHSIG = 1  # linux/prctl.h

_libc = ctypes.CDLL(None, use_errno=True)


TERMINATING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held (blocked) inside the block and delivered after it: for
    work a handler must not cut short, such as removing what a run made."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def start_holding_signals(proc) -> None:
    """``proc.start()`` (a fork) with the terminating signals held until it returns: a
    handler that raised inside the fork's at-fork hooks (logging registers one) would be
    ignored by Python ("Exception ignored in"), and the interrupted run would go on and exit
    0. Held, the signal is delivered right after the fork, where its handler can unwind."""
    with signals_held():
        proc.start()


def start_without_signals(thread) -> None:
    """``thread.start()`` with the terminating signals blocked in the new thread for good (a
    thread inherits its creator's mask). The kernel gives a process-directed signal to any
    thread that does not block it; a helper thread that took one would trip Python's handler
    in the main thread at once, even inside ``signals_held``, so a fork's at-fork hooks could
    be cut short after all. Blocked here, every such signal waits for the main thread."""
    with signals_held():
        thread.start()


def release_held_signals() -> None:
    """In a child started by start_holding_signals, once its own handlers are set: take
    the signals again (the mask is inherited across fork)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, TERMINATING_SIGNALS)


def die_with_parent(parent_pid: int) -> None:
    """In a forked child: be killed (SIGKILL) when the process that forked it dies, even by
    SIGKILL, so no client keeps probing after its runner is gone. If the parent is already
    gone (it died between fork and here), exit now."""
    if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not Linux: the runner's own teardown is then the only guard
    if os.getppid() != parent_pid:
        os._exit(0)


def _child(netns: str | None, fn: Callable, args: tuple, conn, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    release_held_signals()
    try:
        if netns:
            enter_netns(netns)
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # noqa: BLE001 report every failure to the parent as one line
        conn.send(("err", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
        os._exit(0)


def call_in_netns(netns: str | None, fn: Callable, *args: Any, timeout_s: float) -> Any:
    """fn(*args) in a child inside ``netns``; its result, or InfraError on error or timeout."""
    parent, child = FORK.Pipe(duplex=False)
    proc = FORK.Process(target=_child, args=(netns, fn, args, child, os.getpid()), daemon=True)
    start_holding_signals(proc)
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise InfraError(
                f"{getattr(fn, '__name__', fn)} did not finish within {timeout_s:.1f}s"
            )
        status, value = parent.recv()
    except EOFError as exc:
        raise InfraError(f"{getattr(fn, '__name__', fn)} died in namespace {netns}") from exc
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1)
        parent.close()
    if status == "err":
        raise InfraError(value)
    return value
