"""The command line as ``--help`` shows it: every command and option, ``--target``'s help
from the target registry, and the epilog's exit codes and environment variables. What each
command does is in harness.cli."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from harness import __version__
from harness.errors import EXIT_BAD_INPUT
from harness.run import pcaps
from harness.targets import LOCAL_CONFIGS, TARGETS
from harness.targets.password import PASSWORD_ENV
from harness.targets.remote_spec import CONFIG_ENV, DEFAULT_CONFIG, URL_OPTIONS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        sys.stderr.write(f"nbt-harness: error: {message} (see nbt-harness --help)\n")
        sys.exit(EXIT_BAD_INPUT)


class _UnbrokenHelp(argparse.HelpFormatter):
    """Help lines wrapped between words only: a URL form or a file name stays whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(
            " ".join(text.split()), width, break_long_words=False, break_on_hyphens=False
        )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="nbt-harness",
        description="Prove that one bad NetBIOS/SMB client cannot "
        "stall everyone else (KB Q186873 class of bug).",
        epilog=help_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run", help="run scenarios against a target", formatter_class=_UnbrokenHelp
    )
    run.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="scenario names or files (default: all shipped scenarios)",
    )
    run.add_argument(
        "--target", default=os.environ.get("NBT_HARNESS_TARGET", "local"), help=target_help()
    )
    run.add_argument(
        "--report-dir",
        default=None,
        type=Path,
        help="write report.json and DIR/<scenario>/history.jsonl here (default: a new "
        "directory per run under --runs-dir)",
    )
    run.add_argument(
        "--runs-dir",
        default=None,
        type=Path,
        help="where each run gets a directory of its own, with a 'latest' link "
        "(default: $NBT_HARNESS_RUNS_DIR, else nbt-runs)",
    )
    run.add_argument(
        "--scenario-dir",
        type=Path,
        default=None,
        help="where SCENARIO names are looked up (default: the shipped scenarios; "
        ".py scenarios are loaded only from a directory given here)",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario parameter, e.g. phases.fault_s=2 (repeatable)",
    )
    run.add_argument("--hold-s", type=float, default=None, help="replica: freeze/degrade hold time")
    run.add_argument(
        "--degrade-ms", type=float, default=None, help="replica: degrade instead of freeze"
    )
    run.add_argument(
        "--dialect",
        default=None,
        metavar="LIST",
        help="run each scenario with each of these dialects (comma-separated: nt1, "
        "2.0.2, 2.1, 3.0, 3.1.1 or an alias smb1, smb2, smb3); names become "
        "NAME[DIALECT-TRANSPORT]",
    )
    run.add_argument(
        "--transport",
        default=None,
        metavar="LIST",
        help="and over each of these transports: nbt (TCP 139 with a session "
        "request), tcp (direct TCP 445)",
    )
    run.add_argument(
        "--matrix",
        action="store_true",
        help="the whole matrix: nt1, 2.1, 3.0, 3.1.1 x nbt, tcp (narrowed by "
        "--dialect / --transport)",
    )
    run.add_argument(
        "--quiet", action="store_true", help="print only the verdict lines (no tables, no progress)"
    )
    _add_runs22_run_options(run)
    run.add_argument(
        "--junitxml",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the results as JUnit XML: a testcase per scenario, with "
        "the pytest plugin's properties (nbt_verdict, nbt_reason, ...)",
    )
    ls = sub.add_parser("list", help="list scenarios, one line each")
    ls.add_argument(
        "--scenario-dir",
        type=Path,
        default=None,
        help="default: the shipped scenarios (.py ones only from a directory given here)",
    )
    ls.add_argument(
        "--json",
        action="store_true",
        help="a JSON list of objects (name as run accepts it, folder, description, "
        "drop, holding, probes, ...)",
    )
    cl = sub.add_parser(
        "cleanup", help="remove namespaces, processes, rules and dirs of killed runs"
    )
    cl.add_argument("--all", action="store_true", help="also those of runs still alive")
    sub.add_parser(
        "replica", help="run the Q186873 replica relay in the foreground", add_help=False
    )
    sub.add_parser(
        "crowd-worker",
        help="join a crowd's master and run its SMB users (Locust worker)",
        add_help=False,
    )
    rep = sub.add_parser("report", help="(re)build report.html of a run directory")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="directory holding report.json")
    rep.add_argument("-o", "--output", type=Path, default=None, help="default: RUN_DIR/report.html")
    cmp = sub.add_parser("compare", help="compare two runs' latency distributions")
    cmp.add_argument(
        "base", type=Path, metavar="BASE", nargs="?", help="run directory or report.json"
    )
    cmp.add_argument(
        "new", type=Path, metavar="NEW", nargs="?", help="run directory or report.json"
    )
    cmp.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="significance of the one-sided KS test per row (default 0.01)",
    )
    cmp.add_argument(
        "--min-ratio",
        type=float,
        default=2.0,
        help="smallest new/base latency ratio that counts as a change (default 2)",
    )
    cmp.add_argument(
        "--min-delta-ms",
        type=float,
        default=25.0,
        help="smallest latency difference that counts as a change (default 25 ms)",
    )
    cmp.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the comparison as an HTML page",
    )
    _add_runs22_commands(sub, cmp)
    cmp.add_argument(
        "--json",
        action="store_true",
        help="print the comparison as JSON (rows, summary, thresholds, ...) instead of the table",
    )
    return p


# runs22: pcaps of failed scenarios (run --pcap), the runs index (runs), compare --against
def _add_runs22_run_options(run) -> None:
    run.add_argument(
        "--pcap",
        choices=pcaps.MODES,
        default=pcaps.DEFAULT_MODE,
        help=f"write DIR/<scenario>/capture.pcap (mode 0600: it holds NTLM exchanges) "
        f"for failed scenarios (fail, the default), every scenario (always) or "
        f"none (never): the clients' packets with the server, the newest "
        f"{pcaps.RING_BYTES >> 20} MiB of them per scenario",
    )


def _add_runs22_commands(sub, cmp) -> None:
    cmp.add_argument(
        "--against",
        choices=["latest-pass"],
        default=None,
        help="compare one run (NEW, default: the runs directory's latest) with the "
        "newest passing run of the same target that started before it",
    )
    cmp.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="where --against looks for kept runs (default: as for run)",
    )
    runs = sub.add_parser(
        "runs",
        help="list the kept runs and write DIR/index.html "
        "(each run's verdicts, p99 trends across runs)",
    )
    runs.add_argument(
        "dir",
        type=Path,
        nargs="?",
        default=None,
        metavar="DIR",
        help="the runs directory (default: $NBT_HARNESS_RUNS_DIR, else nbt-runs)",
    )


def target_help() -> str:
    """``--target``'s help, from the target registry and the smb:// URL's options."""
    kinds = ", ".join(k.spelling for k in TARGETS.values())
    query = "&".join(f"{o}=..." for o in sorted(URL_OPTIONS))
    return (
        f"{kinds} (local configs: {', '.join(LOCAL_CONFIGS)}); a server the harness does "
        f"not start: smb://[DOMAIN;]USER@HOST[:PORT]/SHARE[?{query}] (PORT: the NBT "
        f"session port, default 139; the password from ${PASSWORD_ENV} or password_file, "
        f"never in the URL), or a name from the targets file (${CONFIG_ENV}, default "
        f"{DEFAULT_CONFIG}). Default: $NBT_HARNESS_TARGET, else local"
    )


# The exit codes as README's table gives them (a test holds the two to the same words).
EXIT_CODES = (
    ("0", "every scenario passed (skips are listed, not failures)"),
    ("1", "at least one scenario failed its bounds"),
    ("2", "bad input: usage, scenario file, target spec (one line on stderr)"),
    (
        "3",
        (
            "no scenario failed, but the target was unreachable or a scenario errored; "
            "cleanup: something of a run's it could not remove"
        ),
    ),
    (
        "4",
        (
            "internal error: a bug in the harness (one line on stderr naming a file "
            "/tmp/nbt-harness-crash-<pid>-*.txt with the traceback; NBT_HARNESS_DEBUG=1 prints "
            "the traceback instead)"
        ),
    ),
    (
        "129, 130, 143",
        (
            "interrupted by SIGHUP, SIGINT (Ctrl-C), SIGTERM: everything the run "
            "started was removed first, also when the signal came while the target "
            "was still starting"
        ),
    ),
)
# Every NBT_HARNESS_* variable the harness reads (a test greps harness/ for them).
ENVIRONMENT = (
    ("NBT_HARNESS_TARGET", "the default --target (else local)"),
    ("NBT_HARNESS_RUNS_DIR", "the default --runs-dir (else nbt-runs)"),
    (
        "NBT_HARNESS_PASSWORD",
        (
            "the password of an smb:// or named target (read once at start "
            "and removed from the environment; never on the command line)"
        ),
    ),
    (
        "NBT_HARNESS_CONFIG",
        (
            "the targets file of named targets (default "
            "~/.config/nbt-harness/targets.toml, under $XDG_CONFIG_HOME if set)"
        ),
    ),
    (
        "NBT_HARNESS_STATE_DIR",
        ("where runs write their owner records, which cleanup goes by (default /run/nbt-harness)"),
    ),
    (
        "NBT_HARNESS_DEBUG",
        ("=1: an internal error prints its traceback instead of writing it to a file"),
    ),
    (
        (
            "NBT_HARNESS_REPORT_DIR, NBT_HARNESS_SET, NBT_HARNESS_DIALECT, NBT_HARNESS_TRANSPORT, "
            "NBT_HARNESS_MATRIX"
        ),
        (
            "the pytest plugin's (--nbt-report-dir, --nbt-set (;-separated), "
            "--nbt-dialect, --nbt-transport, --nbt-matrix=1)"
        ),
    ),
)


def help_epilog() -> str:
    """The top-level --help's epilog: exit codes and environment variables."""

    def table(title: str, rows, width: int) -> list[str]:
        out = [f"{title}:"]
        for key, text in rows:
            label = key
            if len(key) > width:  # on a line of its own, the text under it
                out += textwrap.wrap(key, 90, initial_indent="  ", subsequent_indent="  ")
                label = ""
            out += textwrap.wrap(
                text,
                90,
                initial_indent=f"  {label:<{width}}  ",
                subsequent_indent=" " * (width + 4),
            )
        return out

    return "\n".join(
        [
            *table("exit codes", EXIT_CODES, 13),
            "  compare: 0 nothing regressed, 1 something regressed, 2 bad input",
            "",
            *table("environment", ENVIRONMENT, 20),
        ]
    )
