"""harness/replica/config.py: the addresses a stand-alone replica may listen on (pure)."""

import pytest

from harness.replica.config import lab_address


@pytest.mark.parametrize(
    "addr, lab",
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("10.213.0.2", True),
        ("10.213.5.9", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.214.0.1", False),
        ("192.0.2.1", False),
        ("fe80::1", False),
    ],
)
def test_lab_addresses(addr, lab):
    assert lab_address(addr) is lab
