"""nbt-harness: the command line (what each command does; the parser and --help's texts are
harness.cli.parser).

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

import json
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from harness.checkers.compare import Thresholds, compare_reports
from harness.cli.parser import build_parser
from harness.crowd import command as crowd_worker
from harness.errors import (
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
    summary_of,
    write_compare_html,
    write_html,
    write_index,
)
from harness.report.runs_index import latest_pass
from harness.results import Report
from harness.run import rundirs
from harness.run.cleanup import cleanup_stale
from harness.run.suite import check_junit_path, run_suite
from harness.scenario.catalog import catalog_json, load_catalog, render_catalog
from harness.scenario.files import default_dir, resolve
from harness.scenario.overrides import expand_matrix, parse_overrides
from harness.targets.password import take_password_env
from harness.targets.spec import make_target, parse_target
from harness.validate import number

DEBUG_ENV = "NBT_HARNESS_DEBUG"


def cmd_runs(args) -> int:
    runs_dir = rundirs.runs_dir(args.dir)
    runs, skipped = kept_runs(runs_dir)
    for r in runs:
        print(r.line())
    for why in skipped:
        print(f"nbt-harness: note: left out: {why}", file=sys.stderr)
    print(f"{len(runs)} run(s); index: {write_index(runs_dir, runs)}")
    return 0


def _compare_paths(args) -> tuple[Path, Path, Report | None]:
    """(BASE, NEW, NEW's report when it was read here) as given, or with --against
    latest-pass: NEW (default: the runs directory's latest run) and the newest passing run of
    its target before it."""
    if args.against is None:
        if args.base is None or args.new is None:
            raise BadInput("compare needs BASE and NEW (or NEW with --against latest-pass)")
        return args.base, args.new, None
    if args.new is not None:
        raise BadInput("--against latest-pass takes one run (NEW), not two")
    runs_dir = rundirs.runs_dir(args.runs_dir)
    new_path = args.base or runs_dir / "latest"
    doc, run_dir = load_report(new_path)
    runs, _ = kept_runs(runs_dir)
    real = run_dir.resolve()
    new = next((r for r in runs if (runs_dir / r.name).resolve() == real), None)
    new = new or summary_of(run_dir, doc)
    base = latest_pass(runs, new)
    if base is None:
        raise BadInput(
            f"no passing run of target {new.target_kind} before {new.name} in {runs_dir}"
        )
    # on stderr: stdout stays the comparison alone (compare --json prints nothing else)
    print(
        f"nbt-harness: latest passing run of {new.target_kind}: {runs_dir / base.name}",
        file=sys.stderr,
    )
    return runs_dir / base.name, new_path, doc


def cmd_report(args) -> int:
    print(f"report: {write_html(args.run_dir, args.output)}")
    return 0


def cmd_compare(args) -> int:
    try:
        th = Thresholds(
            alpha=args.alpha, min_ratio=args.min_ratio, min_delta_us=args.min_delta_ms * 1000
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    args.base, args.new, new = _compare_paths(args)
    base, _ = load_report(args.base)
    if new is None:
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
    return json.dumps({"base": base_label, "new": new_label, **result}, indent=2, allow_nan=False)


def cmd_cleanup(args) -> int:
    done = cleanup_stale(include_live=args.all)
    for r in done.removed:
        print(f"removed {r}")
    for k in done.kept:
        print(f"kept {k}")
    for why in done.left:
        print(f"nbt-harness: could not remove {why}", file=sys.stderr)
    print(
        f"{len(done.removed)} leftover(s) removed"
        + (f", {len(done.left)} could not be removed" if done.left else "")
    )
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
    return run_suite(
        scenarios,
        target,
        spec.label(),
        report_dir,
        pcap_mode=args.pcap,
        quiet=args.quiet,
        junitxml=args.junitxml,
    )


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
        from harness.targets.password import passwords_seen

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
    sys.stderr.write(
        f"nbt-harness: internal error (a bug): {summary}; {where} (or set {DEBUG_ENV}=1)\n"
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replica"]:
        return replica_main(argv[1:])
    if argv[:1] == ["crowd-worker"]:  # before the password leaves the environment: it needs it
        return crowd_worker.main(argv[1:])
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
