"""``netem``: loss, delay and jitter on the victim's traffic only (tc netem on the egress of
the victim's own host), while the victim keeps echoing on its session. The victim's host is
a namespace of its own, so nobody else's packets are touched. Each round the victim also
reads ``read_bytes`` of its own file: about 45 full segments from the server per 64 KiB, so a
lossy path makes the server retransmit (its evidence) within the first rounds, where small
echoes alone sometimes drew no server retransmission at all.

Where the kernel has no sch_netem, ``backend = "auto"`` falls
back to what it does have: random loss with iptables' statistic match, in both directions
of the victim's host; delay and jitter are then not applied, and the drop's detail (in the
history and the report) says so.
"""

import time

from harness.drops.base import Drop, prepare_big_file
from harness.errors import InfraError
from harness.lab import firewall
from harness.lab.netns import sh
from harness.validate import number

BACKENDS = ("auto", "netem", "iptables")

DEV = "eth0"


class Netem(Drop):
    """The victim keeps echoing and reading its own file through the loss and delay. Evidence: the
    server's socket to the victim has a smoothed RTT of at least half the added delay, or
    retransmissions."""

    mode = "netem"
    wire = "tc netem on the victim host's egress: loss_pct % loss, delay_ms +- jitter_ms"
    needs_root = True
    needs_own_host = True

    def __init__(
        self,
        loss_pct: float = 10.0,
        delay_ms: float = 100.0,
        jitter_ms: float = 20.0,
        echo_interval_s: float = 0.1,
        backend: str = "auto",
        read_bytes: int = 65536,
    ) -> None:
        number(loss_pct, "loss_pct", 0, 99.99)
        number(delay_ms, "delay_ms", 0, 10_000)
        number(jitter_ms, "jitter_ms", 0, 10_000)
        number(read_bytes, "read_bytes (0: echoes only)", 0, 1 << 20, integer=True)
        # <= 0 would spin or crash in during() and leave the qdisc behind
        number(echo_interval_s, "echo_interval_s", 0.01, 10)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
        self.loss_pct, self.delay_ms, self.jitter_ms = (
            float(loss_pct),
            float(delay_ms),
            float(jitter_ms),
        )
        self.echo_interval_s = float(echo_interval_s)
        self.backend = backend
        self.read_bytes = int(read_bytes)
        self.file_id: object = None  # prepare_big_file's, opaque

    def prepare(self, session):
        if self.read_bytes:
            self.file_id = prepare_big_file(session, self.read_bytes)

    def act(self, session):
        if self.backend in ("auto", "netem"):
            try:
                sh(
                    "tc",
                    "qdisc",
                    "replace",
                    "dev",
                    DEV,
                    "root",
                    "netem",
                    "delay",
                    f"{self.delay_ms:g}ms",
                    f"{self.jitter_ms:g}ms",
                    "loss",
                    f"{self.loss_pct:g}%",
                )
                return {
                    "backend": "netem",
                    "dev": DEV,
                    "loss_pct": self.loss_pct,
                    "delay_ms": self.delay_ms,
                    "jitter_ms": self.jitter_ms,
                }
            except InfraError as exc:
                if self.backend == "netem" or "unknown" not in str(exc):
                    raise
        if not self.loss_pct:
            raise InfraError(
                "netem: the kernel has no sch_netem and loss_pct is 0: nothing to apply"
            )
        random_loss = [
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            f"{self.loss_pct / 100:.4f}",
        ]
        for chain in ("INPUT", "OUTPUT"):
            firewall.insert_drop(chain, random_loss, self.owner_pid)
        return {
            "backend": "iptables statistic",
            "loss_pct": self.loss_pct,
            "delay_ms": 0,
            "jitter_ms": 0,
            "not_applied": "delay and jitter: this kernel has no sch_netem",
        }

    def during(self, session, until_monotonic, record):
        ok = failed = reads_ok = reads_failed = 0
        while time.monotonic() < until_monotonic - self.echo_interval_s:
            try:
                session.smb.echo()
                ok += 1
            except Exception:  # noqa: BLE001 any failure of the victim's traffic is counted
                failed += 1
            if self.file_id is not None:
                try:
                    session.conn.readFile(session.tree_id, self.file_id, 0, self.read_bytes)
                    reads_ok += 1
                except Exception:  # noqa: BLE001 any failure of the victim's traffic is counted
                    reads_failed += 1
            time.sleep(self.echo_interval_s)
        record(
            "victim_traffic",
            echoes_ok=ok,
            echoes_failed=failed,
            reads_ok=reads_ok,
            reads_failed=reads_failed,
        )

    def release(self, session):
        sh("tc", "qdisc", "del", "dev", DEV, "root", check=False)
        firewall.remove_cuts(self.owner_pid)
        session.close()

    def cleanup(self, victim_netns):
        # A victim killed (or crashed) before its release() would leave the qdisc on its
        # host's eth0 for the next scenario of the same lab.
        if victim_netns:
            sh("tc", "qdisc", "del", "dev", DEV, "root", netns=victim_netns, check=False)
        firewall.remove_cuts(self.owner_pid, netns=victim_netns)

    def evidence(self, before, rows, detail, victim_exitcode):
        """The server's own view of the victim's path got slow or lossy: its smoothed RTT
        reached half the added delay, or it retransmitted."""
        for r in rows:
            rtt_ms = float(r.info.get("rtt", 0))
            retrans = int(r.info.get("retrans_total", 0))
            slow = detail.get("delay_ms", 0) > 0 and rtt_ms >= 0.5 * detail["delay_ms"]
            if r.state == "ESTAB" and (slow or (self.loss_pct and retrans)):
                return {"server_rtt_ms": rtt_ms, "server_retrans": retrans, "peer": r.peer}
        return None
