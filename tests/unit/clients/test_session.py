"""harness/clients/session.py: the READ size a server's grant allows (pure)."""

import pytest

from harness.clients.session import MAX_READ_BYTES, read_size_bytes


@pytest.mark.parametrize(
    "dialect, granted, size",
    [
        ("2.0.2", 0xFFFFFFFF, 65536),  # no multi-credit READs on 2.0.2
        ("3.1.1", 0xFFFFFFFF, MAX_READ_BYTES),  # never more than 8 MiB, whatever is granted
        ("3.1.1", 1024 * 1024, 1024 * 1024),
        ("2.1", None, 65536),
        ("2.1", 0, 65536),
        ("2.1", -5, 65536),
        ("3.0", "x", 65536),
    ],
)
def test_read_size_never_trusts_the_grant(dialect, granted, size):
    assert read_size_bytes(dialect, granted) == size
