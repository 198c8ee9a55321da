"""Where the harness makes the embedded Samba's directory (smb.conf, state, logs, messaging
sockets, the share).

It goes to memory (``/dev/shm``, a tmpfs on Linux) when that is there, writable and has room,
else to the system's temp directory. On a disk file system the server's own file operations
wait on the disk's journal whenever anything else on the machine writes and syncs: smbd
creating its messaging files for a new connection, or renaming and truncating a probe's file,
then waits hundreds of milliseconds, and a healthy server fails its bounds
(docs/pages/benchmarks.md, "Samba's files in memory"). An explicit ``$TMPDIR`` wins. A run's
event files stay in the system's temp directory (no difference measured; a long run cannot
fill memory with them). Cleanup looks in every root (``scratch_roots``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SHM_DIR = Path("/dev/shm")
# Less free memory than this in /dev/shm (a container's default is 64 MiB): the temp dir
SHM_MIN_FREE_BYTES = 256 * 1024 * 1024


def _shm_usable(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK) and st.f_bavail * st.f_frsize >= SHM_MIN_FREE_BYTES


def scratch_root() -> Path:
    """The directory new scratch directories are made in (see the module's text)."""
    if not os.environ.get("TMPDIR") and _shm_usable(SHM_DIR):
        return SHM_DIR
    return Path(tempfile.gettempdir())


def scratch_roots() -> list[Path]:
    """Every directory a scratch directory of this or an earlier run can be in: where cleanup
    and the leak checks look."""
    roots = [Path(tempfile.gettempdir())]
    if SHM_DIR.is_dir() and SHM_DIR not in roots:
        roots.append(SHM_DIR)
    return roots


def make_scratch_dir(prefix: str) -> Path:
    """A new directory (mode 0700) of this process's own, named ``prefix`` + random."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_root()))
