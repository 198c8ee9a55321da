"""Scratch files the clients leave on the share, and their removal after a run.

Healthy clients delete their own file when they close. The victim cannot: it was reset,
killed or cut off mid-session, so its directory (fin, kill) and file (stall) stay behind. After
every run the runner opens one fresh session and removes what this run's client processes
created (names carry the process id and the run's marker: ``nbth-<client>-<pid>-<marker>[.dat]``;
the id alone could be another host's client on a shared share), nothing else. What the
server still holds open (a victim session it has not given up on yet) is reported as left.
"""

from __future__ import annotations

import os
import re
import time

from harness.clients.session import describe_error, open_session

SCRATCH_NAME = re.compile(r"^nbth-[A-Za-z0-9_]+-(\d+)-([A-Za-z0-9]{1,16})(\.dat)?$")
SWEEP_TIMEOUT_S = 5.0  # per SMB operation of the sweep
# A server may still hold the victim's handles when the run ends: a blackholed session lives
# until its TCP gives up (seconds after the run on the embedded server). Retry that long.
SWEEP_WAIT_S = 8.0
SWEEP_RETRY_S = 0.3
_run_marker = "none"  # this client process's run (set_run_marker, at the process's start)


def run_marker(run_tag: str) -> str:
    """A scenario run's marker in names on the share: the random part of its event
    directory's name (``nbth-<pid>-events-<random>``), letters and digits, at most 16. Another
    host's client with the same process id has another marker."""
    return "".join(c for c in run_tag.rsplit("-", 1)[-1] if c.isalnum())[:16]


def set_run_marker(run_tag: str) -> None:
    """In a client process: the run it belongs to (its names on the share carry it)."""
    global _run_marker
    _run_marker = run_marker(run_tag) or "none"


def scratch_name(client: str) -> str:
    """``nbth-<client>-<pid>-<run marker>``: this client process's scratch name."""
    return f"nbth-{client}-{os.getpid()}-{_run_marker}"


def client_file_name(client: str) -> str:
    """This client process's scratch file on the share."""
    return f"{scratch_name(client)}.dat"


def scratch_owner(name: str) -> tuple[int, str] | None:
    """(client process id, run marker) of a scratch name, or None if it is not one."""
    m = SCRATCH_NAME.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


def _list(session, pattern: str) -> list:
    """Entries of the share root matching pattern; none is an empty list, not an error."""
    from impacket.nt_errors import STATUS_NO_SUCH_FILE
    from impacket.smbconnection import SessionError

    try:
        return session.conn.listPath(session.endpoint.share, pattern)
    except SessionError as exc:
        if exc.getErrorCode() == STATUS_NO_SUCH_FILE:
            return []
        raise


def sweep(
    endpoint,
    pids: list[int],
    timeout_s: float,
    dialect: str | None = None,
    transport: str = "nbt",
    files: tuple[str, ...] = (),
    run_tag: str = "",
) -> dict:
    """Remove this run's scratch entries from the share root: {removed: [...], left: [...]}.
    ``dialect`` and ``transport``: the run's own (the server gave them to its clients).
    ``files``: more of this run's files by name (the victim's held file, which the contended
    probe removes when it can: one a server still holds, a durable handle, is left to this).
    ``run_tag``: the run's tag (see run_marker): a name must carry both a pid and the marker."""
    wanted = {(pid, run_marker(run_tag)) for pid in pids}
    session = open_session(endpoint, "NBTH-SWEEP", timeout_s, dialect, transport)
    removed: list[str] = []
    failed: dict[str, str] = {}
    try:
        pending = [
            (e.get_longname(), e.is_directory())
            for e in _list(session, "nbth-*")
            if scratch_owner(e.get_longname()) in wanted or e.get_longname() in files
        ]
        give_up = time.monotonic() + SWEEP_WAIT_S
        while pending:
            retry = []
            for name, is_dir in pending:
                try:
                    if is_dir:
                        session.conn.deleteDirectory(endpoint.share, name)
                    else:
                        session.conn.deleteFile(endpoint.share, name)
                    removed.append(name)
                    failed.pop(name, None)
                except Exception as exc:  # noqa: BLE001 impacket raises assorted types
                    failed[name] = describe_error(exc, endpoint)
                    retry.append((name, is_dir))
            pending = retry
            if not pending or time.monotonic() + SWEEP_RETRY_S > give_up:
                break
            time.sleep(SWEEP_RETRY_S)
    finally:
        session.close()
    return {
        "removed": sorted(removed),
        "left": [f"{n}: {why}" for n, why in sorted(failed.items())],
    }
