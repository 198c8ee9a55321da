"""The pytest plugin (entry point ``pytest11``): scenario files as test items, and fixtures.

``pytest scenarios/`` collects every scenario file as one item and runs it against the
target. Only when asked for: a file in a directory named ``scenarios`` that is itself (or
whose directory is) named on the command line, or a file in a directory listed in the ini key
``nbt_scenario_dirs``; a plain ``pytest`` in a project that has a scenarios/ folder of its
own collects nothing from it.

Settings, each from an ini key, an environment variable and a command-line option
(precedence: ini < environment < command line):

  --nbt-target      / NBT_HARNESS_TARGET      / nbt_target       local | replica[:T] | docker
  --nbt-report-dir  / NBT_HARNESS_REPORT_DIR  / nbt_report_dir   where histories go
  --nbt-set K=V     / NBT_HARNESS_SET (;-sep) / nbt_set          scenario overrides
  --nbt-hold-s, --nbt-degrade-ms                                 replica behaviour
  --nbt-dialect     / NBT_HARNESS_DIALECT     / nbt_dialect      e.g. nt1,3.1.1 (a matrix)
  --nbt-transport   / NBT_HARNESS_TRANSPORT   / nbt_transport    nbt,tcp
  --nbt-matrix      / NBT_HARNESS_MATRIX=1    / nbt_matrix       nt1,2.1,3.0,3.1.1 x nbt,tcp

With a matrix option every scenario item becomes one item per combination, its id carrying
it (``rst[3.1.1-tcp]``); a combination the scenario cannot express is a skip with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.dialects import matrix, parse_list
from harness.errors import BadInput, HarnessError, TargetUnavailable
from harness.report.summary import junit_properties
from harness.report.table import render_table
from harness.run.pytest_runs import Settings, run_dir_for, run_entry
from harness.scenario.files import load_file, resolve
from harness.scenario.model import Scenario
from harness.scenario.overrides import parse_overrides
from harness.targets.password import give_password, take_password_env
from harness.targets.pool import TargetPool
from harness.targets.spec import parse_target

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

    from harness.results import ScenarioResult

SETTINGS_KEY = pytest.StashKey["Settings"]()
TARGETS_KEY = pytest.StashKey["TargetPool"]()
ENTRIES_KEY = pytest.StashKey[dict]()  # run dir -> (target label, [report entries])


def pytest_addoption(parser):
    group = parser.getgroup("nbt-harness", "NetBIOS/SMB stall harness")
    group.addoption(
        "--nbt-target", default=None, help="target: local (default), replica[:TRIGGER], docker"
    )
    group.addoption("--nbt-report-dir", default=None, help="where scenario histories go")
    group.addoption(
        "--nbt-set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="override a scenario parameter (repeatable)",
    )
    group.addoption("--nbt-hold-s", type=float, default=None, help="replica hold time (s)")
    group.addoption("--nbt-degrade-ms", type=float, default=None, help="replica degrade delay (ms)")
    group.addoption(
        "--nbt-dialect",
        default=None,
        metavar="LIST",
        help="run every scenario with each dialect (nt1,2.0.2,2.1,3.0,3.1.1; aliases "
        "smb1,smb2,smb3)",
    )
    group.addoption(
        "--nbt-transport",
        default=None,
        metavar="LIST",
        help="run every scenario over each transport (nbt: 139, tcp: 445)",
    )
    group.addoption(
        "--nbt-matrix",
        action="store_true",
        default=None,
        help="run every scenario in every cell of nt1,2.1,3.0,3.1.1 x nbt,tcp",
    )
    parser.addini("nbt_dialect", "dialects of the matrix (comma-separated)", default="")
    parser.addini("nbt_transport", "transports of the matrix (comma-separated)", default="")
    parser.addini(
        "nbt_matrix", "run the whole dialect x transport matrix", type="bool", default=False
    )
    parser.addini("nbt_target", "default target", default="local")
    parser.addini("nbt_report_dir", "where scenario histories go", default="")
    parser.addini("nbt_set", "scenario overrides KEY=VALUE", type="linelist", default=[])
    parser.addini(
        "nbt_scenario_dirs",
        "directories (relative to the rootdir) whose scenario "
        "files are collected without being named on the command line",
        type="linelist",
        default=[],
    )


def _resolve(config) -> Settings:
    def pick(opt, env, ini):
        """The option if given, else the environment variable, else the ini value."""
        value = config.getoption(opt)
        if value is not None:
            return value
        return os.environ.get(env) or config.getini(ini)

    target = pick("nbt_target", "NBT_HARNESS_TARGET", "nbt_target")
    report_dir = pick("nbt_report_dir", "NBT_HARNESS_REPORT_DIR", "nbt_report_dir")
    pairs = list(config.getini("nbt_set"))
    if os.environ.get("NBT_HARNESS_SET"):
        pairs += [p for p in os.environ["NBT_HARNESS_SET"].split(";") if p.strip()]
    pairs += config.getoption("nbt_set") or []
    try:
        overrides = parse_overrides(pairs)
    except BadInput as exc:
        raise pytest.UsageError(str(exc)) from None

    try:
        parse_target(target)
    except BadInput as exc:
        raise pytest.UsageError(str(exc)) from None
    base = Path(report_dir) if report_dir else Path(config.rootpath) / "nbt-report" / "pytest"
    lists = {}
    for kind in ("dialect", "transport"):
        text = pick(f"nbt_{kind}", f"NBT_HARNESS_{kind.upper()}", f"nbt_{kind}")
        try:
            lists[kind] = parse_list(text, kind) if text else None
        except ValueError as exc:
            raise pytest.UsageError(f"--nbt-{kind}: {exc}") from None
    everything = config.getoption("nbt_matrix")
    if everything is None:
        env = os.environ.get("NBT_HARNESS_MATRIX")
        everything = env not in ("", "0") if env is not None else config.getini("nbt_matrix")
    return Settings(
        target,
        base,
        overrides,
        config.getoption("nbt_hold_s"),
        config.getoption("nbt_degrade_ms"),
        lists["dialect"],
        lists["transport"],
        bool(everything),
    )


# pytest-xdist: the controller took NBT_HARNESS_PASSWORD out of its environment before it
# started its workers, so it hands the password to each worker over execnet (workerinput),
# never through an environment a child process could inherit.
WORKER_PASSWORD_KEY = "nbt_harness_password"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    password = take_password_env()
    if password is not None:
        node.workerinput[WORKER_PASSWORD_KEY] = password


def pytest_configure(config):
    take_password_env()  # no test's child process (smbd, docker, ...) inherits the password
    worker_password = getattr(config, "workerinput", {}).pop(WORKER_PASSWORD_KEY, None)
    if worker_password is not None:
        give_password(worker_password)
    config.addinivalue_line("markers", "nbt_scenario: a scenario file collected by nbt-harness")
    config.stash[SETTINGS_KEY] = _resolve(config)
    config.stash[TARGETS_KEY] = TargetPool()
    config.stash[ENTRIES_KEY] = {}


def pytest_unconfigure(config):
    pool = config.stash.get(TARGETS_KEY, None)
    if pool:
        pool.close()


def pytest_report_header(config):
    s = config.stash[SETTINGS_KEY]
    extra = f", overrides={s.overrides}" if s.overrides else ""
    if s.dialects or s.transports or s.matrix:
        default = "all" if s.matrix else "own"
        extra += (
            f", matrix dialects={','.join(s.dialects) if s.dialects else default}"
            f" transports={','.join(s.transports) if s.transports else default}"
        )
    return f"nbt-harness: target={s.target}, report_dir={s.report_dir}{extra}"


def _asked_for(config, file_path: Path) -> bool:
    """A scenario file is collected only when asked for: its directory is named
    ``scenarios`` and it, or that directory, is named on the command line
    (``pytest scenarios/``); or its directory is listed in the ini key ``nbt_scenario_dirs``.
    A plain ``pytest`` in a project that merely has a scenarios/ folder collects nothing."""
    folder = file_path.parent.resolve()
    for d in config.getini("nbt_scenario_dirs"):
        if (Path(config.rootpath) / d).resolve() == folder:
            return True
    group = file_path.parent.parent.name == "scenarios"  # an opt-in group, scenarios/holdings/
    if file_path.parent.name != "scenarios" and not group:
        return False
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        named = (base / str(arg).split("::")[0]).resolve()
        if named in (folder, file_path.resolve()) or (group and named == folder.parent):
            return True
    return False


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix not in (".toml", ".py") or file_path.name.startswith(("_", ".")):
        return None
    if not _asked_for(parent.config, file_path):
        return None
    if file_path.suffix == ".toml" or "SCENARIO" in file_path.read_text(errors="replace"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioOutcome(Exception):
    def __init__(self, entry: ScenarioResult, table: str) -> None:
        super().__init__(entry.reason)
        self.entry, self.table = entry, table


class ScenarioFailed(ScenarioOutcome):
    """The scenario ran and a bound was violated."""


class ScenarioErrored(ScenarioOutcome):
    """The scenario could not be judged (no evidence of the drop, clients broke)."""


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            scenario = load_file(self.path)
        except BadInput as exc:
            raise self.CollectError(str(exc)) from None
        s = self.config.stash[SETTINGS_KEY]
        cells = matrix(s.dialects, s.transports, s.matrix, scenario.dialect, scenario.transport)
        if not cells:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        for dialect, transport in cells:  # one item per cell: rst[3.1.1-tcp]
            cell = scenario.with_combination(dialect, transport)
            yield ScenarioItem.from_parent(self, name=cell.name, scenario=cell)

    class CollectError(Exception):
        pass

    # pytest's Collector narrows Node.repr_failure (no style) the same way, and ignores it too
    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _runs(config) -> tuple[Settings, TargetPool, dict]:
    """The session's settings, target pool and report entries (see harness.run.pytest_runs)."""
    return config.stash[SETTINGS_KEY], config.stash[TARGETS_KEY], config.stash[ENTRIES_KEY]


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kw) -> None:
        super().__init__(**kw)
        self.scenario = scenario
        self.add_marker("nbt_scenario")

    def runtest(self):
        try:
            entry = run_entry(*_runs(self.config), self.scenario)
        except TargetUnavailable as exc:
            pytest.skip(str(exc))
        # Key figures as JUnit <property> elements (pytest --junitxml).
        self.user_properties.extend(junit_properties(entry))
        settings = self.config.stash[SETTINGS_KEY]
        html = run_dir_for(settings, settings.target) / "report.html"
        self.user_properties.append(("nbt_report_html", str(html)))
        table = render_table(entry) + f"\n   report: {html}"
        if entry.verdict == "skip":
            pytest.skip(entry.reason)
        if entry.verdict == "fail":
            raise ScenarioFailed(entry, table)
        if entry.verdict == "error":
            raise ScenarioErrored(entry, "ERROR (not judged): " + table)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioOutcome):
            return excinfo.value.table
        if isinstance(excinfo.value, HarnessError):
            return f"nbt-harness: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"scenario {self.scenario.name}"


@pytest.fixture(scope="session")
def nbt_run(request):
    """Run a scenario (name, file or Scenario) against a target; returns its result, a
    harness.results.ScenarioResult (``entry.verdict``, ``entry.violations``; its report.json
    form is ``entry.to_json()``, and ``entry["verdict"]`` still reads it).

    nbt_run("rst", target="replica:any", overrides={"phases.fault_s": 3})
    """

    def run(
        scenario, target: str | None = None, overrides: dict | None = None, **kw
    ) -> ScenarioResult:
        if not isinstance(scenario, Scenario):
            scenario = resolve([scenario])[0]
        return run_entry(*_runs(request.config), scenario, target, overrides, **kw)

    return run
