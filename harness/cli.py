"""nbt-harness: the command line.

  nbt-harness run [SCENARIO ...] [--target TARGET] [--report-dir DIR | --runs-dir DIR]
                  [--dialect LIST] [--transport LIST] [--matrix] [--junitxml FILE]
  nbt-harness list [--json]
  nbt-harness --version
  nbt-harness cleanup
  nbt-harness replica --listen ADDR --upstream ADDR [...]
  nbt-harness report RUN_DIR [-o FILE]
  nbt-harness compare BASE NEW [--alpha A] [--min-ratio R] [--min-delta-ms MS] [--html FILE]
                      [--json]
  nbt-harness compare [NEW] --against latest-pass [--runs-dir DIR] [...]
  nbt-harness runs [DIR]

Exit codes: 0 all scenarios passed (skips are listed); 1 at least one failed its bounds;
2 bad input (usage, scenario file, target spec); 3 none failed but the target was
unreachable or a scenario errored; 4 internal error (a bug in the harness: one line on
stderr naming a file with the traceback; NBT_HARNESS_DEBUG=1 prints it instead).
SIGINT, SIGTERM and SIGHUP unwind through the same teardown as a normal exit (exit 130,
143, 129), also while the target is still starting.
compare: 0 nothing regressed, 1 something did, 2 bad input.
runs: 0 listed (none is fine), 2 no such directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import textwrap
import traceback
from pathlib import Path

from harness import __version__
from harness.checkers.compare import Thresholds, compare_reports
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_INFRA,
    EXIT_INTERNAL,
    EXIT_PASS,
    BadInput,
    HarnessError,
    one_line,
)
from harness.replica.cli import main as replica_main
from harness.report.compare import render_compare
from harness.report.files import (
    kept_runs,
    load_report,
    write_compare_html,
    write_html,
    write_index,
)
from harness.report.runs_index import latest_pass, summarize
from harness.run import pcaps, rundirs
from harness.run.cleanup import cleanup_stale
from harness.run.suite import check_junit_path, run_suite
from harness.scenario.catalog import catalog_json, load_catalog, render_catalog
from harness.scenario.files import default_dir, resolve
from harness.scenario.model import expand_matrix
from harness.scenario.overrides import parse_overrides
from harness.targets import LOCAL_CONFIGS, TARGETS
from harness.targets.remote import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    PASSWORD_ENV,
    URL_OPTIONS,
    take_password_env,
)
from harness.targets.spec import make_target, parse_target
from harness.validate import number

DEBUG_ENV = "NBT_HARNESS_DEBUG"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        sys.stderr.write(f"nbt-harness: error: {message} (see nbt-harness --help)\n")
        sys.exit(EXIT_BAD_INPUT)


class _UnbrokenHelp(argparse.HelpFormatter):
    """Help lines wrapped between words only: a URL form or a file name stays whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_long_words=False,
                             break_on_hyphens=False)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nbt-harness", description="Prove that one bad NetBIOS/SMB client cannot "
                "stall everyone else (KB Q186873 class of bug).", epilog=help_epilog(),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run scenarios against a target",
                         formatter_class=_UnbrokenHelp)
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario names or files (default: all shipped scenarios)")
    run.add_argument("--target", default=os.environ.get("NBT_HARNESS_TARGET", "local"),
                     help=target_help())
    run.add_argument("--report-dir", default=None, type=Path,
                     help="write report.json and DIR/<scenario>/history.jsonl here (default: a new "
                          "directory per run under --runs-dir)")
    run.add_argument("--runs-dir", default=None, type=Path,
                     help="where each run gets a directory of its own, with a 'latest' link "
                          "(default: $NBT_HARNESS_RUNS_DIR, else nbt-runs)")
    run.add_argument("--scenario-dir", type=Path, default=None,
                     help="where SCENARIO names are looked up (default: the shipped scenarios; "
                     ".py scenarios are loaded only from a directory given here)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario parameter, e.g. phases.fault_s=2 (repeatable)")
    run.add_argument("--hold-s", type=float, default=None, help="replica: freeze/degrade hold time")
    run.add_argument("--degrade-ms", type=float, default=None, help="replica: degrade instead of freeze")
    run.add_argument("--dialect", default=None, metavar="LIST",
                     help="run each scenario with each of these dialects (comma-separated: nt1, "
                          "2.0.2, 2.1, 3.0, 3.1.1 or an alias smb1, smb2, smb3); names become "
                          "NAME[DIALECT-TRANSPORT]")
    run.add_argument("--transport", default=None, metavar="LIST",
                     help="and over each of these transports: nbt (TCP 139 with a session "
                          "request), tcp (direct TCP 445)")
    run.add_argument("--matrix", action="store_true",
                     help="the whole matrix: nt1, 2.1, 3.0, 3.1.1 x nbt, tcp (narrowed by "
                          "--dialect / --transport)")
    run.add_argument("--quiet", action="store_true",
                     help="print only the verdict lines (no tables, no progress)")
    _add_runs22_run_options(run)
    run.add_argument("--junitxml", type=Path, default=None, metavar="FILE",
                     help="also write the results as JUnit XML: a testcase per scenario, with "
                          "the pytest plugin's properties (nbt_verdict, nbt_reason, ...)")
    ls = sub.add_parser("list", help="list scenarios, one line each")
    ls.add_argument("--scenario-dir", type=Path, default=None,
                    help="default: the shipped scenarios "
                    "(.py ones only from a directory given here)")
    ls.add_argument("--json", action="store_true",
                    help="a JSON list of objects (name as run accepts it, folder, description, "
                         "drop, holding, probes, ...)")
    cl = sub.add_parser("cleanup", help="remove namespaces, processes, rules and dirs of killed runs")
    cl.add_argument("--all", action="store_true", help="also those of runs still alive")
    sub.add_parser("replica", help="run the Q186873 replica relay in the foreground", add_help=False)
    rep = sub.add_parser("report", help="(re)build report.html of a run directory")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="directory holding report.json")
    rep.add_argument("-o", "--output", type=Path, default=None, help="default: RUN_DIR/report.html")
    cmp = sub.add_parser("compare", help="compare two runs' latency distributions")
    cmp.add_argument("base", type=Path, metavar="BASE", nargs="?",
                     help="run directory or report.json")
    cmp.add_argument("new", type=Path, metavar="NEW", nargs="?",
                     help="run directory or report.json")
    cmp.add_argument("--alpha", type=float, default=0.01,
                     help="significance of the one-sided KS test per row (default 0.01)")
    cmp.add_argument("--min-ratio", type=float, default=2.0,
                     help="smallest new/base latency ratio that counts as a change (default 2)")
    cmp.add_argument("--min-delta-ms", type=float, default=25.0,
                     help="smallest latency difference that counts as a change (default 25 ms)")
    cmp.add_argument("--html", type=Path, default=None, metavar="FILE",
                     help="also write the comparison as an HTML page")
    _add_runs22_commands(sub, cmp)
    cmp.add_argument("--json", action="store_true",
                     help="print the comparison as JSON (rows, summary, thresholds, ...) "
                          "instead of the table")
    return p


# runs22: pcaps of failed scenarios (run --pcap), the runs index (runs), compare --against
def _add_runs22_run_options(run) -> None:
    run.add_argument("--pcap", choices=pcaps.MODES, default=pcaps.DEFAULT_MODE,
                     help=f"write DIR/<scenario>/capture.pcap (mode 0600: it holds NTLM exchanges) "
                          f"for failed scenarios (fail, the default), every scenario (always) or "
                          f"none (never): the clients' packets with the server, the newest "
                          f"{pcaps.RING_BYTES >> 20} MiB of them per scenario")


def _add_runs22_commands(sub, cmp) -> None:
    cmp.add_argument("--against", choices=["latest-pass"], default=None,
                     help="compare one run (NEW, default: the runs directory's latest) with the "
                          "newest passing run of the same target that started before it")
    cmp.add_argument("--runs-dir", type=Path, default=None,
                     help="where --against looks for kept runs (default: as for run)")
    runs = sub.add_parser("runs", help="list the kept runs and write DIR/index.html "
                                       "(each run's verdicts, p99 trends across runs)")
    runs.add_argument("dir", type=Path, nargs="?", default=None, metavar="DIR",
                      help="the runs directory (default: $NBT_HARNESS_RUNS_DIR, else nbt-runs)")


def cmd_runs(args) -> int:
    runs_dir = rundirs.runs_dir(args.dir)
    runs, skipped = kept_runs(runs_dir)
    for r in runs:
        print(r.line())
    for why in skipped:
        print(f"nbt-harness: note: left out: {why}", file=sys.stderr)
    print(f"{len(runs)} run(s); index: {write_index(runs_dir, runs)}")
    return 0


def _compare_paths(args) -> tuple[Path, Path]:
    """(BASE, NEW) as given, or with --against latest-pass: NEW (default: the runs
    directory's latest run) and the newest passing run of its target before it."""
    if args.against is None:
        if args.base is None or args.new is None:
            raise BadInput("compare needs BASE and NEW (or NEW with --against latest-pass)")
        return args.base, args.new
    if args.new is not None:
        raise BadInput("--against latest-pass takes one run (NEW), not two")
    runs_dir = rundirs.runs_dir(args.runs_dir)
    new_path = args.base or runs_dir / "latest"
    doc, run_dir = load_report(new_path)
    runs, _ = kept_runs(runs_dir)
    real = run_dir.resolve()
    new = next((r for r in runs if (runs_dir / r.name).resolve() == real), None)
    new = new or summarize(run_dir.name, (run_dir / "report.json").stat().st_mtime, doc)
    base = latest_pass(runs, new)
    if base is None:
        raise BadInput(f"no passing run of target {new.target_kind} before {new.name} "
                       f"in {runs_dir}")
    # on stderr: stdout stays the comparison alone (compare --json prints nothing else)
    print(f"nbt-harness: latest passing run of {new.target_kind}: {runs_dir / base.name}",
          file=sys.stderr)
    return runs_dir / base.name, new_path


def cmd_report(args) -> int:
    print(f"report: {write_html(args.run_dir, args.output)}")
    return 0


def cmd_compare(args) -> int:
    try:
        th = Thresholds(alpha=args.alpha, min_ratio=args.min_ratio, min_delta_us=args.min_delta_ms * 1000)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    args.base, args.new = _compare_paths(args)
    base, _ = load_report(args.base)
    new, _ = load_report(args.new)
    try:
        result = compare_reports(base, new, th)
    except ValueError as exc:
        raise BadInput(f"cannot compare {args.base} with {args.new}: {exc}") from None
    if args.json:
        print(compare_json(result, str(args.base), str(args.new)))
    else:
        print(render_compare(result, str(args.base), str(args.new)))
    if args.html:
        html = write_compare_html(result, (str(args.base), base), (str(args.new), new), args.html)
        print(f"html: {html}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_FAIL if result["summary"]["regressed"] else EXIT_PASS


def cmd_list(args) -> int:
    directory = args.scenario_dir or default_dir()
    if not directory.is_dir():
        raise BadInput(f"no scenario directory at {directory}")
    # .py scenarios are scripts: executed only from a directory named with --scenario-dir
    entries = load_catalog(directory, scripts=args.scenario_dir is not None)
    print(json.dumps(catalog_json(entries), indent=2) if args.json else render_catalog(entries))
    return 0


def compare_json(result: dict, base_label: str, new_label: str) -> str:
    """``compare --json``: compare_reports' result as it is, with the two runs' labels."""
    return json.dumps({"base": base_label, "new": new_label, **result}, indent=2,
                      allow_nan=False)


def target_help() -> str:
    """``--target``'s help, from the target registry and the smb:// URL's options."""
    kinds = ", ".join(k.spelling for k in TARGETS.values())
    query = "&".join(f"{o}=..." for o in sorted(URL_OPTIONS))
    return (f"{kinds} (local configs: {', '.join(LOCAL_CONFIGS)}); a server the harness does "
            f"not start: smb://[DOMAIN;]USER@HOST[:PORT]/SHARE[?{query}] (PORT: the NBT "
            f"session port, default 139; the password from ${PASSWORD_ENV} or password_file, "
            f"never in the URL), or a name from the targets file (${CONFIG_ENV}, default "
            f"{DEFAULT_CONFIG}). Default: $NBT_HARNESS_TARGET, else local")


# The exit codes as README's table gives them (a test holds the two to the same words).
EXIT_CODES = (
    ("0", "every scenario passed (skips are listed, not failures)"),
    ("1", "at least one scenario failed its bounds"),
    ("2", "bad input: usage, scenario file, target spec (one line on stderr)"),
    ("3", ("no scenario failed, but the target was unreachable or a scenario errored; "
           "cleanup: something of a run's it could not remove")),
    ("4", ("internal error: a bug in the harness (one line on stderr naming a file "
           "/tmp/nbt-harness-crash-<pid>-*.txt with the traceback; NBT_HARNESS_DEBUG=1 prints "
           "the traceback instead)")),
    ("129, 130, 143", ("interrupted by SIGHUP, SIGINT (Ctrl-C), SIGTERM: everything the run "
                       "started was removed first, also when the signal came while the target "
                       "was still starting")),
)
# Every NBT_HARNESS_* variable the harness reads (a test greps harness/ for them).
ENVIRONMENT = (
    ("NBT_HARNESS_TARGET", "the default --target (else local)"),
    ("NBT_HARNESS_RUNS_DIR", "the default --runs-dir (else nbt-runs)"),
    ("NBT_HARNESS_PASSWORD", ("the password of an smb:// or named target (read once at start "
                              "and removed from the environment; never on the command line)")),
    ("NBT_HARNESS_CONFIG", ("the targets file of named targets (default "
                            "~/.config/nbt-harness/targets.toml, under $XDG_CONFIG_HOME if set)")),
    ("NBT_HARNESS_STATE_DIR", ("where runs write their owner records, which cleanup goes by "
                               "(default /run/nbt-harness)")),
    ("NBT_HARNESS_DEBUG", ("=1: an internal error prints its traceback instead of writing it "
                           "to a file")),
    (("NBT_HARNESS_REPORT_DIR, NBT_HARNESS_SET, NBT_HARNESS_DIALECT, NBT_HARNESS_TRANSPORT, "
      "NBT_HARNESS_MATRIX"), ("the pytest plugin's (--nbt-report-dir, --nbt-set (;-separated), "
                              "--nbt-dialect, --nbt-transport, --nbt-matrix=1)")),
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
            out += textwrap.wrap(text, 90, initial_indent=f"  {label:<{width}}  ",
                                 subsequent_indent=" " * (width + 4))
        return out

    return "\n".join([
        *table("exit codes", EXIT_CODES, 13),
        "  compare: 0 nothing regressed, 1 something regressed, 2 bad input", "",
        *table("environment", ENVIRONMENT, 20)])


def cmd_cleanup(args) -> int:
    done = cleanup_stale(include_live=args.all)
    for r in done.removed:
        print(f"removed {r}")
    for k in done.kept:
        print(f"kept {k}")
    for why in done.left:
        print(f"nbt-harness: could not remove {why}", file=sys.stderr)
    print(f"{len(done.removed)} leftover(s) removed"
          + (f", {len(done.left)} could not be removed" if done.left else ""))
    return EXIT_INFRA if done.left else 0


def _report_dir(args, target_label: str) -> Path:
    """``--report-dir`` as given, or a new directory under the runs folder (``latest`` then
    points at it)."""
    path, note = rundirs.report_dir(args.report_dir, args.runs_dir, target_label)
    if note:
        print(f"nbt-harness: note: {note}", file=sys.stderr)
    return path


def cmd_run(args) -> int:
    for option, value in (("--hold-s", args.hold_s), ("--degrade-ms", args.degrade_ms)):
        if value is not None:  # checked before anything starts, not by the replica later
            try:
                number(value, option, 0, 3600 if option == "--hold-s" else 60_000)
            except ValueError as exc:
                raise BadInput(str(exc)) from None
    overrides = parse_overrides(args.set)
    scenarios = [s.with_overrides(overrides) for s in resolve(args.scenarios, args.scenario_dir)]
    scenarios = expand_matrix(scenarios, args.dialect, args.transport, args.matrix)
    spec = parse_target(args.target)
    check_junit_path(args.junitxml)
    target = make_target(spec, hold_s=args.hold_s, degrade_ms=args.degrade_ms)
    report_dir = _report_dir(args, spec.label())
    return run_suite(scenarios, target, spec.label(), report_dir, pcap_mode=args.pcap,
                     quiet=args.quiet, junitxml=args.junitxml)


def _terminate(signum, frame):
    # Unwind through every finally (targets stop, labs go); a second signal must not cut
    # that teardown short, so from here on these signals are ignored.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _internal_error(exc: BaseException) -> int:
    """A bug in the harness: one line on stderr, the traceback in a file (or on stderr with
    NBT_HARNESS_DEBUG=1), exit 4. Never exit 1, which means a scenario failed its bounds."""
    secrets = {os.environ.get("NBT_HARNESS_PASSWORD") or ""}
    try:  # the environment's password was taken out of os.environ: the harness keeps it
        from harness.targets.remote import passwords_seen

        secrets |= passwords_seen()
    except Exception:  # noqa: BLE001 a crash report is written whatever else is broken
        pass

    def mask(t: str) -> str:
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            t = t.replace(secret, "****").replace(repr(secret)[1:-1], "****")
        return t

    text = mask("".join(traceback.format_exception(exc)))
    summary = mask(" ".join(f"{type(exc).__name__}: {exc}".split())[:200])
    if os.environ.get(DEBUG_ENV) == "1":
        sys.stderr.write(text)
        sys.stderr.write(f"nbt-harness: internal error (a bug): {summary}\n")
        return EXIT_INTERNAL
    where = "(traceback not written)"
    try:
        fd, path = tempfile.mkstemp(prefix=f"nbt-harness-crash-{os.getpid()}-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        where = f"traceback in {path}"
    except OSError:
        pass
    sys.stderr.write(f"nbt-harness: internal error (a bug): {summary}; {where} "
                     f"(or set {DEBUG_ENV}=1)\n")
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replica"]:
        return replica_main(argv[1:])
    take_password_env()  # out of os.environ before any child process is started
    args = build_parser().parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        if signal.getsignal(sig) != signal.SIG_IGN:  # nohup's ignored SIGHUP stays ignored
            signal.signal(sig, _terminate)
    try:
        if args.command == "list":
            return cmd_list(args)
        if args.command == "cleanup":
            return cmd_cleanup(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "runs":
            return cmd_runs(args)
        return cmd_run(args)
    except HarnessError as exc:
        print(f"nbt-harness: error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("nbt-harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INFRA
    except Exception as exc:  # noqa: BLE001 a bug: teardown already ran; say so plainly
        return _internal_error(exc)


def command() -> int:
    """The ``nbt-harness`` command: main(), then the terminating signals ignored while the
    interpreter shuts down. (It resets Python-level handlers to the default on the way out,
    so a signal arriving after the work was done killed the process and turned its exit code
    into -1 instead of the run's result: seen by the interrupt chaos benchmark.)"""
    code = main()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(command())
