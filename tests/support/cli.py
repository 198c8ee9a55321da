"""The command as a user runs it: ``python -m harness ARGS`` in a child process, its output
captured as text; and the flags headless Chromium needs here (root, no network)."""

import subprocess
import sys

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def harness_cli(*args, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run ``nbt-harness ARGS`` (arguments turned to strings); never raises on exit codes."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False, **kw)
