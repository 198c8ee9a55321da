"""Writing into report and runs directories as root, safely.

The harness runs as root and writes into directories a user names (``--report-dir``,
``--runs-dir``, the pytest plugin's report directory). Two rules keep another local user
from turning those writes against files elsewhere:

- ``check_dir``: a directory another user can write to (group- or other-writable, or owned
  by another user) is refused, unless it is sticky and owned by the harness's own user (then
  no one else can rename or remove what the harness puts there).
- ``slug``: a name from a scenario or target becomes one safe path component.
- ``atomic_write``: a file is written to a temp file with an unpredictable name, created
  with O_CREAT|O_EXCL|O_NOFOLLOW relative to the directory's descriptor (a planted link or
  file is never opened), then renamed over the final name within that directory (a link
  planted at the final name is replaced, never followed). Two writers of one name never
  share a temp file: the last rename wins, whole.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from harness.errors import BadInput

SLUG_MAX_CHARS = 64
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def slug(text: str, fallback: str = "scenario") -> str:
    """One safe path component for ``text``: letters, digits, '.', '_' and '-' only, never
    starting or ending with '.' or '-' (so never '.', '..' or hidden), at most 64 characters;
    ``fallback`` when nothing is left."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:SLUG_MAX_CHARS].strip(".-")
    return out or fallback


def unsafe_dir_reason(st: os.stat_result, uid: int | None = None) -> str | None:
    """Why a directory with this stat is not safe for the harness to write into, or None."""
    uid = os.geteuid() if uid is None else uid
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_mode & stat.S_ISVTX and st.st_uid == uid:
        return None  # sticky and ours: others may add files, never rename or remove ours
    if st.st_uid != uid:
        return f"is owned by another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by other users (mode {stat.S_IMODE(st.st_mode):o}, not sticky)"
    return None


def check_dir(path: Path, what: str) -> None:
    """BadInput (one line, exit 2) when ``path`` is a directory another user can write to,
    or is not a directory; see the module's docstring."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BadInput(f"{what} {path}: {exc.strerror}") from None
    why = unsafe_dir_reason(st)
    if why:
        raise BadInput(f"{what} {path} {why}; refused (the harness runs as root)")


def open_dir(path: Path, what: str) -> int:
    """A descriptor of the directory ``path`` itself (never of what a link there points to),
    checked like ``check_dir`` on that descriptor: no check-then-use gap. Close it."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError as exc:
        raise BadInput(
            f"{what} {path} is not a directory the harness can write into: {exc.strerror}"
        ) from None
    why = unsafe_dir_reason(os.fstat(fd))
    if why:
        os.close(fd)
        raise BadInput(f"{what} {path} {why}; refused (the harness runs as root)")
    return fd


def temp_name(name: str) -> str:
    """An unpredictable temp name beside ``name`` (hidden, so globs of real files skip it)."""
    return f".{name}.{secrets.token_hex(8)}.tmp"


def atomic_write(path: Path, data: bytes | str, mode: int = 0o644, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` whole: a fresh temp file in the same directory (see the
    module's docstring), permissions ``mode``, fsync'd when asked, renamed over ``path``.
    OSError propagates; the temp file is removed on every failure."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tmp = temp_name(path.name)
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            mode,
            dir_fd=dir_fd,
        )
        try:
            try:
                os.fchmod(fd, mode)  # the umask does not decide a report's permissions
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
    finally:
        os.close(dir_fd)
    return path


def unsafe_file_reason(st: os.stat_result, secret: bool, uid: int | None = None) -> str | None:
    """Why a file the harness acts on (a targets file; ``secret``: a password file) is not
    to be trusted, or None: owned by another user than this one or root, writable by others,
    or, for a secret, open to others at all."""
    uid = os.geteuid() if uid is None else uid
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid not in (uid, 0):
        return f"is owned by another user (uid {st.st_uid})"
    if secret and mode & 0o077:
        return f"can be read by other users (mode {mode:o}; chmod 600 it)"
    if mode & 0o022:
        return f"can be written by other users (mode {mode:o})"
    return None


def read_trusted_text(path: Path, what: str, secret: bool = False) -> str:
    """The UTF-8 text of ``path``, checked (unsafe_file_reason) on the descriptor it is read
    from: BadInput (one line) when it is not to be trusted; OSError as it comes."""
    with open(path, "rb") as f:
        why = unsafe_file_reason(os.fstat(f.fileno()), secret)
        if why:
            raise BadInput(f"{what} {path} {why}; refused (the harness runs as root)")
        return f.read().decode("utf-8")
