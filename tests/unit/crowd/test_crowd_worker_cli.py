"""``nbt-harness crowd-worker``: its help, one line for bad input, and the harness's own
process never importing locust or gevent (locust monkey-patches its importer)."""

import subprocess
import sys

from tests.support.cli import harness_cli


def test_help_works():
    done = harness_cli("crowd-worker", "--help", timeout=30)
    assert done.returncode == 0, done.stderr
    assert "--master HOST[:PORT]" in done.stdout and "NBT_HARNESS_PASSWORD" in done.stdout


def test_bad_input_is_one_line_and_exit_2():
    for args in ([], ["--master", "host:0"], ["--master", ""], ["--bogus"]):
        done = harness_cli("crowd-worker", *args, timeout=30)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nbt-harness crowd-worker: error: "), lines


def test_the_harness_never_imports_locust_or_gevent():
    code = ("import sys, harness.cli, harness.run.runner, harness.crowd.control, "
            "harness.checkers.crowd, harness.report.html; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
