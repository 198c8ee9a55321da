"""The server's TCP table from ``ss -tainH`` (iproute2), parsed into ServerSocket rows: the way
into a container the harness may only ``docker exec`` into (elsewhere: harness.lab.sockdiag)."""

from __future__ import annotations

import re

from harness.server import ServerSocket

_KV = re.compile(r"([a-z_]+):([0-9.]+)(?:/[0-9.]+)?")
_RETRANS = re.compile(r"\bretrans:(\d+)/(\d+)")  # outstanding / total retransmissions
# flags that appear alone in ss -i output (no value) are ignored


def parse_ss(text: str) -> list[ServerSocket]:
    """Parse ``ss -tainH`` output: one line per socket, an indented tcp_info line after it."""
    rows: list[ServerSocket] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t":
            if rows:
                info = {k: float(v) if "." in v else int(v) for k, v in _KV.findall(line)}
                m = _RETRANS.search(line)
                if m:
                    info["retrans_total"] = int(m.group(2))
                last = rows[-1]
                rows[-1] = ServerSocket(
                    last.state,
                    last.recv_q,
                    last.send_q,
                    last.local,
                    last.peer,
                    {**last.info, **info},
                )
            continue
        parts = line.split()
        if len(parts) < 5:
            continue
        state, recv_q, send_q, local, peer = parts[:5]
        rows.append(ServerSocket(state, int(recv_q), int(send_q), local, peer))
    return rows
