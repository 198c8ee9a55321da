"""Latency distributions as HdrHistograms: 1 us to 60 s at 3 significant digits. Pure.

Each probe x phase keeps its successful operations' latencies (after the machine-stall
correction) in one histogram. report.json carries them in HdrHistogram's standard compressed
base64 form, so reports and comparisons work from report.json alone, and histograms from
several processes or runs merge exactly (``merge``).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3


def new() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def of_latencies_us(latencies_us: Iterable[float]) -> HdrHistogram:
    """A histogram of the values, each clamped into [1 us, 60 s] (a value past 60 s is
    recorded as 60 s: the histogram's range, not a dropped sample)."""
    h = new()
    for v in latencies_us:
        value = min(max(round(v), LOWEST_US), HIGHEST_US)
        if not h.record_value(value):  # cannot happen after clamping; never lose a sample silently
            raise ValueError(f"latency {v} us not recordable")
    return h


def encode(h: HdrHistogram) -> str:
    """The standard compressed base64 form (HISTFAAA...)."""
    return h.encode().decode("ascii")


# Bounds on what a report may hand the decoder (a report.json is input, not trusted): an
# encoded histogram of this range is at most a few hundred kB decompressed (its counts as
# varints of at most 9 bytes); a zip bomb must not reach the library, which decompresses
# without a limit and whose own size check cannot fire (a chained comparison).
MAX_ENCODED_CHARS = 1 << 20
MAX_DECOMPRESSED_BYTES = 1 << 20
_EXT_HEADER_BYTES = 8  # cookie, compressed length (both 32-bit, big endian)


def _check_size(raw: bytes) -> None:
    """ValueError unless ``raw`` (the encoded form) is within the bounds above."""
    if len(raw) > MAX_ENCODED_CHARS:
        raise ValueError(
            f"encoded histogram of {len(raw)} characters (at most {MAX_ENCODED_CHARS})"
        )
    try:
        blob = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not an encoded HdrHistogram: bad base64") from None
    d = zlib.decompressobj()
    try:
        d.decompress(blob[_EXT_HEADER_BYTES:], MAX_DECOMPRESSED_BYTES)
    except zlib.error:
        raise ValueError("not an encoded HdrHistogram: bad compressed data") from None
    if d.unconsumed_tail:
        raise ValueError(f"encoded histogram decompresses past {MAX_DECOMPRESSED_BYTES} bytes")


def decode(text: str) -> HdrHistogram:
    """A histogram from its encoded form; ValueError when the text is not one, or is
    bigger than any histogram of this range (MAX_ENCODED_CHARS, MAX_DECOMPRESSED_BYTES)."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    _check_size(raw)
    h = new()
    try:
        h.decode_and_add(raw)
    except Exception as exc:  # noqa: BLE001 the library raises assorted types on garbage
        raise ValueError(f"not an encoded HdrHistogram: {type(exc).__name__}") from None
    return h


def merge(encoded: Iterable[str]) -> HdrHistogram:
    """One histogram holding every sample of the encoded histograms (exact)."""
    h = new()
    for text in encoded:
        h.add(decode(text))
    return h


def buckets(h: HdrHistogram) -> list[tuple[int, int]]:
    """(value_us, count) for every non-empty bucket, ascending; the value is the bucket's
    highest equivalent value (what the library's own percentiles report). Reads the counts
    array directly: the library's recorded-value iterator takes ~70 ms per histogram."""
    counts = h.counts
    return [
        (h.get_highest_equivalent_value(h.get_value_from_index(i)), counts[i])
        for i in range(h.counts_len)
        if counts[i]
    ]
