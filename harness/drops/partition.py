"""``partition``: the victim's host is cut off from the network for ``partition_s`` (every
packet in and out dropped by iptables in its namespace), with reads outstanding, then
reconnected. The history records what the server did with the half-dead session: the
server retransmitting during the cut (the evidence), and after the heal whether the
victim's session still answers."""

import time

from harness.drops.base import WithBigFile
from harness.lab import firewall
from harness.validate import number

HEAL_ECHO_TIMEOUT_S = 5.0


class Partition(WithBigFile):
    """After the heal the victim echoes once (``after_heal``: session alive or dead). Evidence:
    the server retransmitted into the partition."""

    mode = "partition"
    wire = (
        "READs outstanding, then all of the victim host's traffic dropped for partition_s, "
        "then restored"
    )
    needs_root = True
    needs_own_host = True

    def __init__(self, partition_s: float = 2.0, read_total_bytes: int = 1 << 20) -> None:
        number(partition_s, "partition_s", 0, 600, lo_open=True)
        super().__init__(read_total_bytes)
        self.partition_s = float(partition_s)

    def act(self, session):
        reads = self.send_reads(session, session.max_read_bytes())
        for chain in ("INPUT", "OUTPUT"):
            firewall.insert_drop(chain, [], self.owner_pid)
        return {"outstanding_reads": reads, "partition_s": self.partition_s}

    def during(self, session, until_monotonic, record):
        time.sleep(max(0.0, min(self.partition_s, until_monotonic - time.monotonic() - 0.5)))
        firewall.remove_cuts(self.owner_pid)
        record("heal")
        saved = session.set_timeout(HEAL_ECHO_TIMEOUT_S)
        started = time.monotonic()
        try:
            session.echo()
            outcome = "session alive"
        except Exception as exc:  # noqa: BLE001 any failure is the finding: the session is dead
            outcome = f"session dead: {type(exc).__name__}"
        finally:
            session.set_timeout(saved)
        record("after_heal", victim_echo=outcome, echo_s=round(time.monotonic() - started, 3))

    def release(self, session):
        firewall.remove_cuts(self.owner_pid)
        session.close()

    def cleanup(self, victim_netns):
        firewall.remove_cuts(self.owner_pid, netns=victim_netns)

    def evidence(self, before, rows, detail, victim_exitcode):
        """The server kept the session but retransmitted into the partition."""
        if before is None or not self.note_retransmits(rows):
            return None
        state = rows[0].state if rows else "gone"
        return {
            "server_tcp": "retransmitted into the partition",
            "retransmits_seen": self.retransmits_seen,
            "server_socket": state,
            "peer": before.peer,
        }
