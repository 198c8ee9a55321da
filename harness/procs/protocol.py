"""The pipe between the runner and each client process it forks (worker, pool, canary). Every
message is one tuple ``(name, payload)``; each name is defined here once:

- client -> runner, once at set-up: ``READY`` (a dict: pid, scheduling, the session's
  addresses and dialect, the victim's holding) or ``ERROR`` (one line: why set-up failed) or
  ``NOT_GRANTED`` (one line: the server refused the victim's holding);
- runner -> client: ``START`` (the shared t0, monotonic seconds);
- victim -> runner: ``DROPPED`` (the drop's detail, once it has acted); with several drops
  (harness.procs.victims), ``ARMED`` (a drop's index and the session it will act on) before
  each, answered by the runner's ``WATCHING`` once it has the server's row of that session,
  and ``DROPPED`` with the index in its detail;
- client -> runner, at the end: ``DONE`` (an empty dict).

The client side of the handshake (``setup_failed``, ``ready_then_start``, ``done``) ends the
process with ``os._exit``: a fork leaves without the interpreter's teardown.
"""

from __future__ import annotations

import gc
import os
import time
from typing import NoReturn

from harness.clients.holdings import NotGranted
from harness.clients.session import describe_error
from harness.errors import HarnessError
from harness.history import HistoryWriter
from harness.server import Endpoint

READY = "ready"
ERROR = "error"
NOT_GRANTED = "not_granted"
START = "start"
DROPPED = "dropped"
ARMED = "armed"
WATCHING = "watching"
DONE = "done"

START_TIMEOUT_S = 120.0  # a client told nothing this long after ready leaves quietly


class HoldingNotGranted(HarnessError):
    """The server refused the victim's holding at set-up (harness.clients.holdings.NotGranted),
    as the victim told the runner (``NOT_GRANTED``)."""


# The client's side


def setup_failed(conn, name: str, endpoint: Endpoint, exc: Exception) -> NoReturn:
    """Set-up failed: tell the runner why, and leave. A holding the server did not grant is
    ``NOT_GRANTED``: the runner decides (a skip on a server the harness does not configure,
    an error on one it does)."""
    if isinstance(exc, NotGranted):
        conn.send((NOT_GRANTED, str(exc)))
    else:
        conn.send((ERROR, f"{name}: {describe_error(exc, endpoint)}"))
    conn.close()
    os._exit(0)


def ready_then_start(conn, info: dict, writer: HistoryWriter) -> float:
    """Say ready with ``info``, then wait for the shared t0, set it as ``writer``'s clock and
    return it (leave quietly if the runner never sends it).

    What set-up built (and what the fork inherited from the runner) is frozen out of the
    garbage collector first: a full collection then walks only what the timed phases
    allocate. Unfrozen, a prober's full collection (tens of ms, the process stopped) fell
    inside its timed operations, and clients that run the same schedule collected together.
    """
    gc.collect()
    gc.freeze()
    conn.send((READY, info))
    if not conn.poll(START_TIMEOUT_S):
        os._exit(0)
    msg, t0 = conn.recv()
    if msg != START:
        os._exit(0)
    writer.set_t0(t0)
    return t0


def dropped(conn, detail: dict) -> None:
    """The victim's drop has acted: tell the runner (it starts looking for evidence)."""
    conn.send((DROPPED, detail))


def armed(conn, index: int, local: str | None) -> None:
    """Drop ``index`` is next, on the session from ``local`` (None: the victim has none: it
    could not log on again, the drop will not act)."""
    conn.send((ARMED, {"index": index, "local": local}))


def await_watching(conn, index: int, timeout_s: float) -> bool:
    """After ``armed``: whether the runner said it watches drop ``index`` (its server-side row
    taken) within ``timeout_s``; a drop acted before that could not be told from a session
    never seen. A late answer to an earlier drop is read past."""
    deadline = time.monotonic() + timeout_s
    while conn.poll(max(0.0, deadline - time.monotonic())):
        msg, payload = conn.recv()
        if msg == WATCHING and payload == index:
            return True
    return False


def done(writer: HistoryWriter, conn) -> NoReturn:
    """Close the history, tell the runner, and leave."""
    try:
        writer.close()
        conn.send((DONE, {}))
    except Exception:  # noqa: BLE001 nothing may stop the os._exit below
        pass
    os._exit(0)


# The runner's side


def read_setup(conn, name: str) -> dict:
    """A client's set-up answer: its ready info, or HoldingNotGranted / HarnessError."""
    try:
        msg, info = conn.recv()
    except EOFError:
        raise HarnessError(f"{name}: client process died during set-up") from None
    if msg == NOT_GRANTED:
        raise HoldingNotGranted(info)
    if msg == ERROR:
        raise HarnessError(info)
    return info


def send_start(conn, t0: float) -> None:
    conn.send((START, t0))


def poll_victim(conn) -> tuple[str, dict] | None:
    """A victim's next message (ARMED or DROPPED, with its payload) if one is waiting, else
    None. EOFError when the victim is gone."""
    if not conn.poll(0):
        return None
    msg, payload = conn.recv()
    return msg, payload


def send_watching(conn, index: int) -> None:
    conn.send((WATCHING, index))


def poll_dropped(conn, timeout_s: float) -> dict | None:
    """The victim's drop detail if it says DROPPED within ``timeout_s``; None otherwise.
    EOFError when the victim is gone."""
    if not conn.poll(timeout_s):
        return None
    msg, payload = conn.recv()
    return payload if msg == DROPPED else None
