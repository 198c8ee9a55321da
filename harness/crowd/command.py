"""``nbt-harness crowd-worker --master HOST[:PORT]``: join a crowd's master from this
machine and run its SMB users (a Locust worker, harness.crowd.worker).

Locust monkey-patches the process that imports it with gevent, so this command checks its
arguments and then replaces itself (exec) with a fresh ``python -m harness.crowd.worker``:
the harness's own modules are never patched. The password comes from NBT_HARNESS_PASSWORD
(the master never sends it); everything else about the server comes from the master.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import uuid

from harness.errors import EXIT_BAD_INPUT
from harness.scenario.crowd import DEFAULT_MASTER_PORT, parse_host_port
from harness.targets.password import PASSWORD_ENV

DESCRIPTION = (
    "Join a crowd's master (a scenario's [crowd] with master_bind and remote_workers) and run "
    "its SMB users until the master ends the run. The server's address, share, user, "
    "dialect and operation mix come from the master; the password from "
    f"${PASSWORD_ENV}. Runs at the priority it is started with (start it with nice on a "
    "machine that also runs probes)."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        sys.stderr.write(f"nbt-harness crowd-worker: error: {message} (see --help)\n")
        sys.exit(EXIT_BAD_INPUT)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nbt-harness crowd-worker", description=DESCRIPTION)
    p.add_argument(
        "--master",
        required=True,
        metavar="HOST[:PORT]",
        help=f"the crowd master's address (port default {DEFAULT_MASTER_PORT})",
    )
    p.add_argument(
        "--name",
        default=None,
        help="this worker's name in reports (default: HOSTNAME-<6 random hex digits>)",
    )
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments, checked; exit 2 with one line on bad input (argparse's own usage)."""
    p = parser()
    args = p.parse_args(argv)
    try:
        parse_host_port(args.master)
    except ValueError as exc:
        p.error(f"--master: {exc}")
    if args.name is None:
        # unique also between scaled containers of one host (same hostname, same pid 1)
        args.name = f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
    return args


def main(argv: list[str]) -> int:
    """Check the arguments, then become the worker process (never returns on success)."""
    args = parse(argv)
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "harness.crowd.worker",
            "--master",
            args.master,
            "--name",
            args.name,
        ],
    )
    return 0  # pragma: no cover - execv does not return
