"""The replica's stand-alone command line (``python -m harness.replica``, ``nbt-harness
replica``): options in, a validated ReplicaConfig out, the relay run in the foreground until
SIGINT/SIGTERM. What the replica does: harness.replica."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from harness.errors import EXIT_BAD_INPUT, BadInput, HarnessError
from harness.replica.config import LAB_NETWORK, EventLog, ReplicaConfig, lab_address
from harness.replica.relay import serve
from harness.replica.triggers import HOLDS, TRIGGERS

PROG = "python -m harness.replica"
# The stand-alone replica's limits (the harness's own replica target, in its lab namespace,
# passes larger ones for its crowds): at most MAX_CONNECTIONS x 2 x MAX_HELD_BYTES held.
MAX_CONNECTIONS = 64
MAX_HELD_BYTES = 1024 * 1024
MAX_HELD_DATAGRAMS = 256


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(message)


def build_parser() -> argparse.ArgumentParser:
    """The stand-alone command line; errors raise BadInput instead of exiting."""
    p = _Parser(
        prog=PROG,
        description="Known-bad NBT relay (KB Q186873): freezes every "
        "session for --hold-s after one client's session is lost.",
    )
    p.add_argument(
        "--listen",
        required=True,
        metavar="ADDR",
        help=f"address to listen on: loopback or the lab subnet {LAB_NETWORK} unless "
        "--allow-any-address (the replica relays whoever reaches it)",
    )
    p.add_argument(
        "--allow-any-address",
        action="store_true",
        help="listen on any address, the wildcard (0.0.0.0, ::) included",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"client connections at once; more are reset (default: {MAX_CONNECTIONS})",
    )
    p.add_argument(
        "--max-held-bytes",
        type=int,
        default=MAX_HELD_BYTES,
        metavar="B",
        help="bytes held per connection and direction; beyond it that side is not "
        f"read (TCP flow control) (default: {MAX_HELD_BYTES}; with the connection "
        f"cap at most {MAX_CONNECTIONS * 2 * MAX_HELD_BYTES // 2**20} MiB in all)",
    )
    p.add_argument(
        "--max-held-datagrams",
        type=int,
        default=MAX_HELD_DATAGRAMS,
        metavar="N",
        help="name-service datagrams held during a freeze; more are dropped "
        f"(default: {MAX_HELD_DATAGRAMS})",
    )
    p.add_argument("--upstream", required=True, metavar="ADDR", help="the real server's address")
    p.add_argument(
        "--trigger",
        default="any",
        choices=TRIGGERS,
        help="which session losses freeze the relay (default: any)",
    )
    p.add_argument(
        "--hold-s",
        type=float,
        default=1.0,
        metavar="S",
        help="freeze (or degrade) duration after a trigger, seconds (default: 1)",
    )
    p.add_argument(
        "--degrade-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="> 0: delay every message by MS during the hold instead of freezing",
    )
    p.add_argument(
        "--hold",
        default="all",
        choices=HOLDS,
        help="what a hold holds: all (freeze, or degrade); or one class of request while "
        "everything else flows: create (opens: SMB2 CREATE, SMB1 NT_CREATE_ANDX/OPEN_ANDX), "
        "logon (NEGOTIATE, SESSION_SETUP, TREE_CONNECT), lock (SMB2 LOCK, SMB1 LOCKING_ANDX) "
        "(default: all)",
    )
    p.add_argument(
        "--lose-write",
        type=int,
        default=0,
        metavar="N",
        help="> 0: the Nth WRITE (SMB2 WRITE, SMB1 WRITE_ANDX) from any client is answered "
        "with success by the relay and never reaches the server (an acknowledged write lost; a "
        "control) (default: 0)",
    )
    p.add_argument(
        "--lose-write-from",
        metavar="ADDR",
        help="with --lose-write N: count only connections from this client address, and lose "
        "the Nth WRITE of each of them (e.g. the victim's lab host)",
    )
    p.add_argument(
        "--grant-reclaim",
        action="store_true",
        help="answer every durable reconnect (an SMB2 CREATE with DHnC or DH2C) with success "
        "from the relay, never forwarded: a server that grants a stale reclaim (a control)",
    )
    p.add_argument("--nbt-port", type=int, default=139, metavar="P")
    p.add_argument("--smb-port", type=int, default=445, metavar="P")
    p.add_argument("--ns-port", type=int, default=137, metavar="P")
    p.add_argument("--upstream-nbt-port", type=int, metavar="P", help="default: --nbt-port")
    p.add_argument("--upstream-smb-port", type=int, metavar="P", help="default: --smb-port")
    p.add_argument("--upstream-ns-port", type=int, metavar="P", help="default: --ns-port")
    p.add_argument(
        "--user-timeout-ms",
        type=int,
        default=3000,
        metavar="MS",
        help="TCP_USER_TIMEOUT on client sockets (default: 3000; 0: system default)",
    )
    p.add_argument(
        "--frame-timeout-s",
        type=float,
        default=1.0,
        metavar="S",
        help="an incomplete client frame stalled this long is a timeout (default: 1)",
    )
    p.add_argument("--log", metavar="FILE", help="append JSON-lines events here (default: stderr)")
    return p


def config_from_args(argv: list[str] | None = None) -> ReplicaConfig:
    """Parse the command line into a validated config; raise BadInput on any bad option."""
    args = build_parser().parse_args(argv)
    try:
        refused = not args.allow_any_address and not lab_address(args.listen)
    except ValueError:
        refused = False  # not an address: ReplicaConfig says so
    if refused:
        raise BadInput(
            f"listen address {args.listen} is neither loopback nor in the lab subnet "
            f"{LAB_NETWORK}: the replica relays whoever reaches it; pass "
            "--allow-any-address to listen there"
        )
    return ReplicaConfig(
        listen_host=args.listen,
        upstream_host=args.upstream,
        nbt_port=args.nbt_port,
        smb_port=args.smb_port,
        ns_port=args.ns_port,
        upstream_nbt_port=args.upstream_nbt_port,
        upstream_smb_port=args.upstream_smb_port,
        upstream_ns_port=args.upstream_ns_port,
        trigger=args.trigger,
        hold_s=args.hold_s,
        degrade_ms=args.degrade_ms,
        holds=args.hold,
        lose_write=args.lose_write,
        lose_write_from=args.lose_write_from,
        grant_reclaim=args.grant_reclaim,
        user_timeout_ms=args.user_timeout_ms,
        frame_timeout_s=args.frame_timeout_s,
        log_path=args.log,
        max_connections=args.max_connections,
        max_held_bytes=args.max_held_bytes,
        max_held_datagrams=args.max_held_datagrams,
    )


async def _run(config: ReplicaConfig, log: EventLog) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def emit(event: dict) -> None:
        log(event)
        if event.get("event") == "listening":
            EventLog(None, sys.stdout)(event)  # a parent may wait for this line on stdout

    await serve(config, stop, emit)


def main(argv: list[str] | None = None) -> int:
    """Run the replica in the foreground until SIGINT/SIGTERM; return the exit code.

    0 after a signal; 2 for a bad option (one line on stderr); 3 if a port cannot be bound.
    """
    try:
        config = config_from_args(argv)
        log = EventLog(config.log_path)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except BadInput as exc:
        print(f"replica: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        asyncio.run(_run(config, log))
    except HarnessError as exc:
        print(f"replica: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        pass
    finally:
        log.close()
    return 0
