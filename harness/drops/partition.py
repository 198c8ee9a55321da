"""``partition``: the victim's host is cut off from the network for ``partition_s`` (every
packet in and out dropped by iptables in its namespace), with reads outstanding, then
reconnected. The history records what the server did with the half-dead session: the
server retransmitting during the cut (the evidence), and after the heal whether the
victim's session still answers."""

import time

from harness.drops.base import Drop
from harness.drops.stall import prepare_big_file
from harness.lab import firewall
from harness.lab.netns import sh

HEAL_ECHO_TIMEOUT_S = 5.0


class Partition(Drop):
    mode = "partition"
    wire = "READs outstanding, then all of the victim host's traffic dropped for partition_s, then restored"
    holds_session = True
    needs_root = True
    needs_own_host = True

    def __init__(self, partition_s: float = 2.0, read_total_bytes: int = 1 << 20) -> None:
        if not 0 < float(partition_s) <= 600 or not 0 < int(read_total_bytes) <= 4 << 20:
            raise ValueError("partition needs 0 < partition_s <= 600 and 0 < read_total_bytes <= 4 MiB")
        self.partition_s, self.read_total_bytes = float(partition_s), int(read_total_bytes)
        self.file_id = None
        self.retransmits_seen = 0

    def prepare(self, session):
        self.file_id = prepare_big_file(session, self.read_total_bytes)

    def _rules(self):
        tag = firewall.tag_for(self.owner_pid)
        return [[chain, "-m", "comment", "--comment", tag, "-j", "DROP"] for chain in ("INPUT", "OUTPUT")]

    def act(self, session):
        size = session.max_read_bytes()
        offsets = range(0, self.read_total_bytes, size)
        for offset in offsets:
            session.send_read_nowait(self.file_id, offset, size)
        for rule in self._rules():
            sh("iptables", "-w", "5", "-I", *rule)
        return {"outstanding_reads": len(offsets), "partition_s": self.partition_s}

    def during(self, session, until_monotonic, record):
        time.sleep(max(0.0, min(self.partition_s, until_monotonic - time.monotonic() - 0.5)))
        firewall.remove_cuts(self.owner_pid)
        record("heal")
        smb = session.smb
        saved, smb._timeout = smb._timeout, HEAL_ECHO_TIMEOUT_S
        started = time.monotonic()
        try:
            smb.echo()
            outcome = "session alive"
        except Exception as exc:
            outcome = f"session dead: {type(exc).__name__}"
        finally:
            smb._timeout = saved
        record("after_heal", victim_echo=outcome, echo_s=round(time.monotonic() - started, 3))

    def release(self, session):
        firewall.remove_cuts(self.owner_pid)
        session.close()

    def evidence(self, before, rows, detail, victim_exitcode):
        """The server kept the session but retransmitted into the partition."""
        for r in rows:
            self.retransmits_seen = max(self.retransmits_seen, int(r.info.get("retrans", 0)),
                                        int(r.info.get("backoff", 0)))
        if before is None or not self.retransmits_seen:
            return None
        state = rows[0].state if rows else "gone"
        return {"server_tcp": "retransmitted into the partition", "retransmits_seen": self.retransmits_seen,
                "server_socket": state, "peer": before.peer}
