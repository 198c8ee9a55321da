"""nbt-harness: the command line.

  nbt-harness run [SCENARIO ...] [--target TARGET] [--report-dir DIR]
  nbt-harness list
  nbt-harness cleanup
  nbt-harness replica --listen ADDR --upstream ADDR [...]
  nbt-harness report RUN_DIR [-o FILE]
  nbt-harness compare BASE NEW [--alpha A] [--min-ratio R] [--min-delta-ms MS] [--html FILE]

Exit codes: 0 all scenarios passed (skips are listed); 1 at least one failed its bounds;
2 bad input (usage, scenario file, target spec); 3 none failed but the target was
unreachable or a scenario errored. compare: 0 nothing regressed, 1 something did, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from harness.errors import EXIT_BAD_INPUT, EXIT_INFRA, BadInput, HarnessError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        sys.stderr.write(f"nbt-harness: error: {message} (see nbt-harness --help)\n")
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nbt-harness", description="Prove that one bad NetBIOS/SMB client cannot "
                "stall everyone else (KB Q186873 class of bug).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run scenarios against a target")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario names or files (default: all in scenarios/)")
    run.add_argument("--target", default=os.environ.get("NBT_HARNESS_TARGET", "local"),
                     help="local (default), replica[:any|timeout|reset|never], docker")
    run.add_argument("--report-dir", default="nbt-report", type=Path, help="where report.json goes")
    run.add_argument("--scenario-dir", type=Path, default=None, help="default: ./scenarios")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario parameter, e.g. phases.fault_s=2 (repeatable)")
    run.add_argument("--hold-s", type=float, default=None, help="replica: freeze/degrade hold time")
    run.add_argument("--degrade-ms", type=float, default=None, help="replica: degrade instead of freeze")
    run.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    ls = sub.add_parser("list", help="list scenarios, one line each")
    ls.add_argument("--scenario-dir", type=Path, default=None)
    cl = sub.add_parser("cleanup", help="remove namespaces, processes, rules and dirs of killed runs")
    cl.add_argument("--all", action="store_true", help="also those of runs still alive")
    sub.add_parser("replica", help="run the Q186873 replica relay in the foreground", add_help=False)
    rep = sub.add_parser("report", help="(re)build report.html of a run directory")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="directory holding report.json")
    rep.add_argument("-o", "--output", type=Path, default=None, help="default: RUN_DIR/report.html")
    cmp = sub.add_parser("compare", help="compare two runs' latency distributions")
    cmp.add_argument("base", type=Path, metavar="BASE", help="run directory or report.json")
    cmp.add_argument("new", type=Path, metavar="NEW", help="run directory or report.json")
    cmp.add_argument("--alpha", type=float, default=0.01,
                     help="significance of the one-sided KS test per row (default 0.01)")
    cmp.add_argument("--min-ratio", type=float, default=2.0,
                     help="smallest new/base latency ratio that counts as a change (default 2)")
    cmp.add_argument("--min-delta-ms", type=float, default=25.0,
                     help="smallest latency difference that counts as a change (default 25 ms)")
    cmp.add_argument("--html", type=Path, default=None, metavar="FILE",
                     help="also write the comparison as an HTML page")
    return p


def cmd_report(args) -> int:
    from harness.report_files import write_html

    print(f"report: {write_html(args.run_dir, args.output)}")
    return 0


def cmd_compare(args) -> int:
    from harness.checkers.compare import Thresholds, compare_reports, render_compare
    from harness.errors import EXIT_FAIL, EXIT_PASS
    from harness.report_files import load_report, write_compare_html

    try:
        th = Thresholds(alpha=args.alpha, min_ratio=args.min_ratio, min_delta_us=args.min_delta_ms * 1000)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    base, _ = load_report(args.base)
    new, _ = load_report(args.new)
    try:
        result = compare_reports(base, new, th)
    except ValueError as exc:
        raise BadInput(f"cannot compare {args.base} with {args.new}: {exc}") from None
    print(render_compare(result, str(args.base), str(args.new)))
    if args.html:
        print(f"html: {write_compare_html(result, (str(args.base), base), (str(args.new), new), args.html)}")
    return EXIT_FAIL if result["summary"]["regressed"] else EXIT_PASS


def cmd_list(args) -> int:
    from harness.scenario import default_dir, load_file, scenario_files

    directory = args.scenario_dir or default_dir()
    if not directory.is_dir():
        raise BadInput(f"no scenario directory at {directory}")
    for path in scenario_files(directory):
        sc = load_file(path)
        drop = sc.drop.mode if sc.drop else "none"
        print(f"{path.stem:<12} drop={drop:<10} {sc.description}")
    return 0


def cmd_cleanup(args) -> int:
    from harness.lab.cleanup import cleanup_stale

    removed = cleanup_stale(include_live=args.all)
    for r in removed:
        print(f"removed {r}")
    print(f"{len(removed)} leftover(s) removed")
    return 0


def cmd_run(args) -> int:
    from harness.report import errored_entry, exit_code, render_table, report_doc, scenario_entry
    from harness.report_files import write_html
    from harness.runner import run_scenario
    from harness.scenario import parse_overrides, resolve
    from harness.targets.spec import make_target, parse_target

    overrides = parse_overrides(args.set)
    scenarios = [s.with_overrides(overrides) for s in resolve(args.scenarios, args.scenario_dir)]
    spec = parse_target(args.target)
    target = make_target(spec, hold_s=args.hold_s, degrade_ms=args.degrade_ms)
    report_dir: Path = args.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []

    def write_report() -> None:
        doc = report_doc(entries, target_label)
        tmp = report_dir / "report.json.tmp"
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(report_dir / "report.json")

    target_label = spec.label()
    try:
        started = time.monotonic()
        target.start()
        target_label = f"{spec.label()} {target.describe()}"
        print(f"target {target_label} ready in {time.monotonic() - started:.1f}s", flush=True)
    except BadInput:  # wrong password, missing share, bad password file: the user's input
        target.stop()
        raise
    except HarnessError as exc:
        target.stop()
        entries = [errored_entry(s.name, f"target unreachable: {exc}") for s in scenarios]
        write_report()
        print(f"nbt-harness: target {spec.label()} unreachable: {exc}", file=sys.stderr)
        return EXIT_INFRA
    try:
        for sc in scenarios:
            t = time.monotonic()
            result = run_scenario(sc, target, report_dir / sc.name)
            extra = {"duration_s": round(time.monotonic() - t, 2)}
            if result["verdict"] in ("fail", "error"):
                extra["server_logs"] = target.logs()[-8000:]
            entries.append(scenario_entry(result, sc, extra))
            write_report()
            if args.quiet:
                print(f"{sc.name}: {result['verdict']} {result['reason']}", flush=True)
            else:
                print(render_table(entries[-1]), flush=True)
    finally:
        target.stop()
    write_report()
    print(f"report: {report_dir / 'report.json'}, {write_html(report_dir)}")
    return exit_code(entries)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through every finally: targets stop, labs go


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replica"]:
        from harness.replica import main as replica_main

        return replica_main(argv[1:])
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command == "list":
            return cmd_list(args)
        if args.command == "cleanup":
            return cmd_cleanup(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "compare":
            return cmd_compare(args)
        return cmd_run(args)
    except HarnessError as exc:
        print(f"nbt-harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("nbt-harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INFRA


if __name__ == "__main__":
    sys.exit(main())
