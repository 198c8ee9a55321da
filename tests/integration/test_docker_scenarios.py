"""The default suite against the Samba container (skipped with the reason without an engine)."""

import pytest

from harness.errors import TargetUnavailable
from tests.conftest import DROP_MODES, FAST

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["baseline", *DROP_MODES])
def test_default_suite_passes_against_docker(nbt_run, name):
    try:
        entry = nbt_run(name, target="docker", overrides=FAST)
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    if name != "baseline":
        assert entry["drop"]["evidence"], entry["drop"]
