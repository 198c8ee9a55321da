"""Classic pcap files (libpcap's format, as Wireshark and tshark read it) and the bounded
ring of raw packets a capture keeps for one. Pure: bytes in, bytes out.

The packets are IPv4 datagrams as an AF_PACKET SOCK_DGRAM socket gives them (no link-layer
header), so the file's link type is LINKTYPE_RAW (101)."""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

MAGIC_US = 0xA1B2C3D4  # microsecond timestamps
VERSION = (2, 4)
LINKTYPE_RAW = 101  # each packet starts with its IPv4 (or IPv6) header
SNAPLEN = 65535
RECORD_OVERHEAD = 16  # bytes of the per-packet record header
_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


@dataclass(frozen=True)
class Frame:
    t_s: float  # wall clock (seconds since the epoch) when it was seen
    data: bytes  # the IPv4 datagram


def file_header(linktype: int = LINKTYPE_RAW, snaplen: int = SNAPLEN) -> bytes:
    """The 24-byte global header (little-endian, microsecond resolution, GMT offset 0)."""
    return _FILE_HEADER.pack(MAGIC_US, *VERSION, 0, 0, snaplen, linktype)


def record(frame: Frame, snaplen: int = SNAPLEN) -> bytes:
    """One packet record: seconds, microseconds, captured length, original length, bytes."""
    sec = int(frame.t_s)
    usec = min(999_999, round((frame.t_s - sec) * 1_000_000))
    kept = frame.data[:snaplen]
    return _RECORD.pack(sec, usec, len(kept), len(frame.data)) + kept


def pcap_bytes(
    frames: Iterable[Frame], linktype: int = LINKTYPE_RAW, snaplen: int = SNAPLEN
) -> bytes:
    """A whole pcap file holding ``frames`` in the order given."""
    return file_header(linktype, snaplen) + b"".join(record(f, snaplen) for f in frames)


class FrameRing:
    """The newest frames whose records fit in ``cap_bytes`` (record headers counted): when a
    frame is added, the oldest ones go until it fits. A frame bigger than the cap alone is not
    kept. ``dropped`` counts the frames that went (the file then starts mid-run)."""

    def __init__(self, cap_bytes: int) -> None:
        if cap_bytes <= 0:
            raise ValueError(f"cap_bytes must be positive, not {cap_bytes}")
        self.cap_bytes = cap_bytes
        self.size_bytes = 0
        self.dropped = 0
        self._frames: deque[Frame] = deque()

    def add(self, frame: Frame) -> None:
        cost = RECORD_OVERHEAD + len(frame.data)
        if cost > self.cap_bytes:
            self.dropped += 1
            return
        while self.size_bytes + cost > self.cap_bytes:
            old = self._frames.popleft()
            self.size_bytes -= RECORD_OVERHEAD + len(old.data)
            self.dropped += 1
        self._frames.append(frame)
        self.size_bytes += cost

    def frames(self) -> list[Frame]:
        return list(self._frames)

    def __len__(self) -> int:
        return len(self._frames)


class RecentDuplicates:
    """Whether a packet's bytes were seen within the last ``window_s``: a capture on every
    interface of a namespace sees a bridged packet twice (on the port and on the bridge) and
    a loopback packet twice (leaving and arriving), microseconds apart. A retransmission
    differs (IP id, TCP timestamp) or comes hundreds of milliseconds later."""

    def __init__(self, window_s: float = 0.005, keep: int = 256) -> None:
        self.window_s = window_s
        self._seen: deque[tuple[float, bytes]] = deque(maxlen=keep)

    def seen(self, t_s: float, data: bytes) -> bool:
        while self._seen and t_s - self._seen[0][0] > self.window_s:
            self._seen.popleft()
        if any(d == data for _, d in self._seen):
            return True
        self._seen.append((t_s, data))
        return False
