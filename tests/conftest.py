import os
import shutil

import pytest

# Short phases for the suite: long enough for >= 20 samples of every probe in every phase.
FAST = {"phases.warmup_s": 0.5, "phases.baseline_s": 2.0, "phases.fault_s": 3.0,
        "phases.recovery_s": 2.0}

DROP_MODES = ["rst", "fin", "kill", "halfframe", "stall"]


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
