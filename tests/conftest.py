import os
import shutil
import time
from pathlib import Path

import pytest

# Short phases for the suite (4 s in all, was 7.5 s): the suite runs about 50 scenarios, and
# their phases were most of CI's time. What each phase must hold, at the default rates: a
# sample of every probe (smb_rw, the slowest, 4 Hz per client), and in the fault phase the
# drop with its evidence and the replica's whole 1 s freeze (it starts at the drop), judged
# there by every stalled probe (nbstat 20 Hz, smb_echo and nbt_session 10 Hz). Drops whose
# effect comes later (a server or relay timing out 3 s after a cut) set longer phases.
FAST = {"phases.warmup_s": 0.5, "phases.baseline_s": 1.0, "phases.fault_s": 1.5,
        "phases.recovery_s": 1.0}
FAST_DROP_AT_S = FAST["phases.warmup_s"] + FAST["phases.baseline_s"]
# Options of every pytest the tests start: hypothesis's plugin (installed for the fuzz tests)
# imports hypothesis at start, 0.7 s of CPU per pytest process (and per xdist worker), and
# none of these inner runs uses it.
CHILD_PYTEST = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]

DROP_MODES = ["rst", "fin", "kill", "halfframe", "stall", "pause"]


def healthy_dialect_run(dialect: str) -> dict:
    """Overrides of the rst run on healthy Samba over one dialect family that two tests judge
    (watched_run shares it): every acknowledged write kept (test_write_verification) and the
    smb_lock probe passing (test_open_path)."""
    return {**FAST, "dialect": dialect, "probes.smb_lock": 4}


# pytest-xdist (opt-in: `-n 2 --dist loadscope`; one process by default, see pyproject.toml): two workers,
# a test file (a scope) at a time each, heaviest first so that no long file starts last.
# Seconds per file, measured in one serial run of the suite (for the order only; a file not
# named counts 1 s). Files that share a session fixture's runs go to one worker together.
FILE_S = {"test_replica_controls": 97, "test_scale": 92, "test_matrix": 65,
          "test_holding_controls": 75, "test_connected_controls": 61, "test_target_holdings": 45,
          "test_remote_target": 60, "test_lab_drops": 48,
          "test_docker_scenarios": 40, "test_embedded_drops": 31, "test_fuzz": 28,
          "test_open_path": 26, "test_plugin": 23, "test_bad_input_corpus": 23,
          "test_reports": 22, "test_cli": 21, "test_exit_paths": 19, "test_replica_relay": 17,
          "test_write_verification": 30, "test_hardening": 11, "test_docker_target": 10,
          "test_pause_exit": 9, "test_run_dirs": 9, "test_dialects": 8, "test_wheel_install": 7,
          "test_probe_priority": 6}
# test_no_spawn and test_write_verification judge the runs that
# test_embedded_drops makes (watched_run, a session fixture): one worker makes them once
SAME_WORKER = {"tests/integration/test_no_spawn.py": "tests/integration/test_embedded_drops.py",
               "tests/integration/test_write_verification.py": "tests/integration/test_embedded_drops.py",
               "tests/integration/test_open_path.py": "tests/integration/test_embedded_drops.py",
               "tests/integration/test_replica_controls.py": "tests/integration/test_embedded_drops.py",
               "tests/integration/test_request_classes.py": "tests/integration/test_embedded_drops.py"}


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        """One test file at a time per worker (module fixtures run once), heaviest first."""

        ordered = False

        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return SAME_WORKER.get(path, path)

        def _assign_work_unit(self, node):
            if not self.ordered:
                def weight(scope):
                    return FILE_S.get(scope.rsplit("/", 1)[-1].removesuffix(".py"), 1)
                ordered = sorted(self.workqueue.items(), key=lambda kv: -weight(kv[0]))
                self.workqueue.clear()
                self.workqueue.update(ordered)
                self.ordered = True
            super()._assign_work_unit(node)

    return FileScheduling(config, log)


# Files whose tests run alone: the crowd of 1,256 sessions keeps both cores busy logging on,
# and the holdings' fixtures start 10 (test_holding_controls) and 15 runs (test_target_holdings,
# six docker containers among them) at once: noise in the other worker's latency bounds (in
# CI beside them: docker rst recovery nbstat 103 ms and smb_rw 116 ms, a URL target's rst-nt1
# recovery smb_rw 251 ms, against 100 ms). Their items take the workers' lock exclusively,
# every other integration item takes it shared.
ALONE = {"test_scale", "test_holding_controls", "test_target_holdings"}
LOCK_ENV = "NBTH_TEST_WORKERS_LOCK"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get(LOCK_ENV)
    if not path or not os.environ.get("PYTEST_XDIST_WORKER") or "integration" not in item.keywords:
        yield
        return
    import fcntl

    fd = os.open(path, os.O_RDWR)
    try:
        # byte 0 is a turnstile: a test waiting to run alone holds it, so that the other
        # worker's next tests wait behind it instead of keeping byte 1 shared forever
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
        fcntl.lockf(fd, fcntl.LOCK_EX if item.path.stem in ALONE else fcntl.LOCK_SH, 1, 1)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
        yield
    finally:
        os.close(fd)  # releases the locks


def pytest_sessionstart(session):
    """The controller of an xdist run makes the workers' lock file (removed at the end)."""
    config = session.config
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        import tempfile

        fd, path = tempfile.mkstemp(prefix=f"nbth-{os.getpid()}-workers-", suffix=".lock")
        os.close(fd)
        os.environ[LOCK_ENV] = path  # the workers, started after this, inherit it
        config.add_cleanup(lambda: (os.environ.pop(LOCK_ENV, None), os.unlink(path)))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Each xdist worker writes the plugin's histories under a directory of its own: two
    workers running the same scenario on the same target would otherwise replace each
    other's history.jsonl (and report.json) between a run and the test that reads it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from dataclasses import replace

        from harness.plugin import SETTINGS_KEY

        settings = config.stash[SETTINGS_KEY]
        config.stash[SETTINGS_KEY] = replace(settings, report_dir=settings.report_dir / worker)


def pytest_collection_modifyitems(config, items):
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    if not shutil.which("smbd") or not shutil.which("nmbd"):
        missing.append("Debian's samba (smbd, nmbd)")
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"integration tests need {' and '.join(missing)}")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fast():
    return dict(FAST)


def wait_for(condition, what, timeout_s=30.0):
    """Poll ``condition`` until it returns something true; AssertionError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def scratch_dirs_of(pid: int, kind: str = "") -> list[Path]:
    """The temp dirs ``nbth-<pid>-<kind>*`` of harness process ``pid``, in every root the
    harness makes them in (harness.scratch: memory or the system's temp dir)."""
    from harness.scratch import scratch_roots

    return [d for root in scratch_roots() for d in root.glob(f"nbth-{pid}-{kind}*")]


def cmdline(pid: int) -> bytes:
    """The process's command line; empty once it has gone (a short-lived helper can end
    between a listing of processes and this read: CI at e0bb7fe failed on that)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def still_alive(pids, within_s):
    """The processes among ``pids`` still alive (zombies are not) after waiting up to
    ``within_s`` for all of them to end."""
    def alive(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def wait_for_victim_host(pid, proc=None):
    """The victim host namespace of the harness process ``pid``, once it exists; if ``proc``
    (that process) exits first, fail at once with what it printed."""
    from harness.lab import netns

    def victim_host():
        name = next((n for n in netns.list_netns()
                     if n.startswith(f"nbth-{pid}-") and n.endswith("-victim")), None)
        if name is None and proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process {pid} exited ({proc.returncode}) before its victim "
                                 f"host existed: {(err or out or b'').decode(errors='replace')[-600:]}")
        return name

    return wait_for(victim_host, f"the victim host of process {pid}")


def iptables_rules(ns):
    from harness.lab import netns

    return netns.sh("iptables", "-S", netns=ns, check=False)


@pytest.fixture(scope="session")
def watched_run(request, nbt_run):
    """``nbt_run`` under a ForkWatch, once per (scenario, target, overrides) in the session:
    returns (entry, history events, forks seen, pids of the target's own server processes).

    A run that one test judges (the drop passes, with evidence) is the run another test
    checks for processes spawned while it was judged (test_no_spawn): one run serves both,
    whichever test comes first. The target is started before the watch begins, as a module
    fixture would have been; the history is read at once (a later run of the same scenario
    on the same target writes the same file)."""
    from harness.history import read_events
    from harness.plugin import SETTINGS_KEY, TARGETS_KEY
    from tests.support.forkwatch import ForkWatch

    cache: dict = {}

    def run(name: str, target: str, overrides: dict):
        key = (name, target, tuple(sorted(overrides.items())))
        if key not in cache:
            settings = request.config.stash[SETTINGS_KEY]
            started = request.config.stash[TARGETS_KEY].get(target, settings.hold_s,
                                                              settings.degrade_ms)
            watch = ForkWatch()
            try:
                entry = nbt_run(name, target=target, overrides=overrides)
            finally:
                forks = watch.stop()
            history = list(read_events(Path(entry["history"])))
            server = {p.pid for p in getattr(started, "procs", [])}
            cache[key] = (entry, history, forks, server)
        return cache[key]

    return run
