"""Every holding crossed with every connected drop (hang, ignore_breaks, late_ack) on one
target: what the opener went through, the figures of the README's table and of
docs/pages/holdings.md.

    python -m tests.benchmarks.connected_matrix [--target local|docker:trixie|...]
        [--drops hang,ignore_breaks,late_ack] [--holdings ...] [--at-once 7] [--keep DIR]

Each row is the shipped ``connected/batch_oplock-<drop>`` scenario with ``victim.holds`` set
to the holding and every latency probe off (only the contended open, as in
test_connected_controls), its bounds as shipped. The runs go ``--at-once`` at a time, each an
``nbt-harness run`` with a server of its own (a lab of its own for ``local``, a container of
its own for ``docker:SUITE``). Printed: the server, then a markdown table: first answer s,
time to access s (both from the drop), the opener's status sequence (access line), the drop's
evidence in short, how late the drop began against its schedule, the verdict. Needs root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness.checkers.access import went_through
from harness.clients.holdings import HOLDINGS
from harness.probes import PROBES
from tests.support.holding_runs import Run, run_all

DROPS = ("hang", "ignore_breaks", "late_ack")
ONLY_CONTENDED = {f"probes.{name}": 0 for name, kind in PROBES.items() if kind.default_rate_hz > 0}


def figure(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def evidence(drop: dict | None) -> str:
    """The drop's proof in a few words: what the server sent the victim and what became of it."""
    ev = (drop or {}).get("evidence") or {}
    if not ev:
        return "unproven"
    if "victim_rx_queue_bytes" in ev:
        unread = ev["victim_rx_queue_bytes"]
        return f"stopped, {unread} B unread" if unread else "stopped, nothing sent to it"
    got = ev.get("breaks_received", 0)
    if not got:
        return "no break sent"
    late = ev.get("late_s")
    return (f"{got} break(s), acknowledged {late:.1f} s late" if late is not None
            else f"{got} break(s), {ev.get('acknowledged', 0)} acknowledged")


def row(holds: str, drop: str, entry: dict | None, code: int | None) -> str:
    if entry is None:
        return f"| {holds} | {drop} | - | - | no report (exit {code}) | - | - | error |"
    access = entry.get("access") or {}
    d = entry.get("drop") or {}
    late = (f"{d['at_s'] - d['scheduled_s']:.3f}"
            if d.get("at_s") is not None and d.get("scheduled_s") is not None else "-")
    at = access.get("drop_at_s")
    seq = ", ".join(went_through(s, at) for s in access.get("statuses", []))
    return (f"| {holds} | {drop} | {figure(access.get('first_answer_s'))} | "
            f"{figure(access.get('time_to_access_s'))} | {seq} | {evidence(d)} | {late} | "
            f"{entry['verdict']} |")


def build_once(target: str) -> None:
    """A docker target's image, built here once rather than by every run of a wave at once."""
    if not target.startswith("docker"):
        return
    from harness.targets.docker import connect, image_tag_for
    from harness.targets.docker.config import CONTEXT_DIR
    from harness.targets.docker.image import build_image

    suite = (target.partition(":")[2] or "bookworm").split(",")[0]
    client = connect()
    try:
        build_image(client, suite, image_tag_for(suite), CONTEXT_DIR)
    finally:
        client.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="local")
    p.add_argument("--drops", default=",".join(DROPS))
    p.add_argument("--holdings", default=",".join(HOLDINGS))
    p.add_argument("--at-once", type=int, default=7)
    p.add_argument("--keep", type=Path, help="keep every run's directory (histories) here")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("connected_matrix: needs root (namespaces, smbd, docker)", file=sys.stderr)
        return 3
    cells = [(h, d) for d in args.drops.split(",") for h in args.holdings.split(",")]
    build_once(args.target)
    work = args.keep or Path(tempfile.mkdtemp(prefix=f"nbth-{os.getpid()}-matrix-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"target: {args.target}")
        print("| holding | drop | first answer s | time to access s | what the opener went through "
              "| the drop's evidence | drop began late s | verdict |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        server = None
        for start in range(0, len(cells), args.at_once):
            wave = cells[start:start + args.at_once]
            plan = [Run(f"{h}/{d}", args.target, f"connected/batch_oplock-{d}", (), plain=True,
                        sets={**ONLY_CONTENDED, "victim.holds": h}) for h, d in wave]
            (work / str(start)).mkdir(exist_ok=True)
            got = run_all(plan, work / str(start))
            exits = {k[1].rpartition("#")[0]: v[0] for k, v in got.items() if k[0] == "exit"}
            for h, d in wave:
                entry = got.get((f"{h}/{d}", f"batch_oplock-{d}"))
                server = server or (entry or {}).get("server")
                print(row(h, d, entry, exits.get(f"{h}/{d}")), flush=True)
        print(f"server: {server or 'unknown'}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
