"""The pcap of a scenario (``run --pcap fail|always|never``): where the capture runs for each
target, and the file it leaves in the scenario's directory.

What the capture sees, per target:
- local and replica (the embedded lab): the lab bridge br0 in the server's namespace, so every
  client host's packets with the server (the victim, the healthy clients, the session-less
  probers: SMB over 139 and 445, NBSTAT over UDP 137). The replica's relay leg to its upstream
  smbd runs over the server namespace's loopback and is not in the file.
- docker and URL targets: the harness's own namespace, every interface, packets from and to
  the endpoint's address: the clients' side of every flow. What the server sends elsewhere,
  and a docker-proxy's leg into the container, are not in the file.
A capture needs root (AF_PACKET); without it the run goes on and says so in the report."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from harness.files import atomic_write
from harness.lab.capture import PacketCapture
from harness.packets.pcap import pcap_bytes

MODES = ("fail", "always", "never")
DEFAULT_MODE = "fail"
RING_BYTES = 32 << 20  # the newest 32 MiB of packets (record headers counted) per scenario
FILE_NAME = "capture.pcap"
LAB_BRIDGE = "br0"


def wanted(mode: str, verdict: str) -> bool:
    """Whether a scenario with this verdict keeps its pcap under ``mode``."""
    return mode == "always" or (mode == "fail" and verdict == "fail")


def start_capture(
    target, mode: str, ring_bytes: int = RING_BYTES
) -> tuple[PacketCapture | None, str | None]:
    """(a running capture, None), or (None, why there is none) when mode is never or the
    capture cannot be made (no root, an endpoint that is not an IPv4 address)."""
    if mode == "never":
        return None, None
    host = getattr(getattr(target, "endpoint", None), "host", None)
    try:
        socket.inet_aton(str(host))
    except OSError:
        return None, f"no pcap: the endpoint {host!r} is not an IPv4 address"
    lab = getattr(target, "lab", None)
    netns = getattr(lab, "server_netns", None) or None
    try:
        return (
            PacketCapture(netns, str(host), ring_bytes, LAB_BRIDGE if netns else None).start(),
            None,
        )
    except OSError as exc:
        return None, f"no pcap: {exc}"


def write_pcap(path: Path, frames) -> Path:
    """Write the frames as a pcap at ``path``, mode 0600 (it holds NTLM exchanges), by
    harness.files.atomic_write (a fresh temp file of an unpredictable name, opened without
    following links, renamed over ``path``)."""
    return atomic_write(path, pcap_bytes(frames), mode=0o600)


def finish(
    capture: PacketCapture | None,
    why_none: str | None,
    mode: str,
    verdict: str,
    scenario_dir: Path,
    run_dir: Path,
) -> dict:
    """Stop the capture; write the pcap if the verdict wants one. The report.json fields:
    ``pcap`` (the file, relative to the run directory), ``pcap_frames``,
    ``pcap_dropped_frames`` (older frames the ring let go), ``pcap_kernel_drops`` (packets
    lost because the capture fell behind: the file has gaps), or ``pcap_note`` (why none)."""
    if capture is None:
        return {"pcap_note": why_none} if why_none and wanted(mode, verdict) else {}
    capture.stop()
    if not wanted(mode, verdict):
        return {}
    try:
        scenario_dir.mkdir(parents=True, exist_ok=True)
        path = write_pcap(scenario_dir / FILE_NAME, capture.frames())
    except OSError as exc:
        return {"pcap_note": f"pcap not written: {exc.strerror or exc}"}
    rel = os.path.relpath(path, run_dir)
    return {
        "pcap": rel,
        "pcap_frames": len(capture.ring),
        "pcap_dropped_frames": capture.ring.dropped,
        "pcap_kernel_drops": capture.kernel_drops,
    }
