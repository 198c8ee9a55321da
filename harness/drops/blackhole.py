"""``blackhole``: the victim silently vanishes, as in the KB ("the problem does not occur
until TCP/IP sees that there is a timeout").

On the wire: SMB2 READs the server must answer, then nothing at all: every packet of the
victim's flow is dropped in both directions by iptables on the victim's side (no FIN, no
RST, no ICMP). The server's TCP retransmits into the void until it gives up (the embedded
server's namespace has net.ipv4.tcp_retries2 = 3: about 3 s).
"""

from harness.drops.base import WithBigFile, abort, after
from harness.lab import firewall


class Blackhole(WithBigFile):
    """Evidence: the server's socket retransmitted (tcp_info retrans/backoff), then its TCP gave
    up and the socket left the table; ``evidence_at_s - at_s`` is how long the server took."""

    mode = "blackhole"
    wire = "outstanding SMB2 READs, then every packet of the flow dropped both ways (no FIN/RST)"
    needs_root = True

    def __init__(self, read_total_bytes: int = 1 << 20) -> None:
        super().__init__(read_total_bytes)

    def act(self, session):
        # Inbound first: the server's answers to the READs sent next can then never be
        # acknowledged, so its TCP has data to retransmit (however fast the path is).
        local = session.local_addr()
        host, port = session.sock.getpeername()[:2]
        rules = firewall.cut_flow(local, f"{host}:{port}", self.owner_pid, chains=("INPUT",))
        reads = self.send_reads(session, session.max_read_bytes())
        rules += firewall.cut_flow(local, f"{host}:{port}", self.owner_pid, chains=("OUTPUT",))
        return {"outstanding_reads": reads, "cut": f"{local} <-> {host}:{port}", "rules": rules}

    def release(self, session):
        abort(session.sock)  # the RST is dropped too: the server learns nothing from it
        firewall.remove_cuts(self.owner_pid)

    def cleanup(self, victim_netns):
        firewall.remove_cuts(self.owner_pid, netns=victim_netns)

    def evidence(self, before, rows, detail, victim_exitcode):
        """The server retransmitted to the victim (seen in tcp_info), then its TCP gave up
        and the connection left the table. Stateful across polls of one run."""
        if before is None or self.note_retransmits(rows) == 0:
            return None
        if any(r.state == "ESTAB" for r in rows):
            return None
        return {
            "server_tcp": "retransmitted, then gave up",
            "retransmits_seen": self.retransmits_seen,
            "server_socket_after": rows[0].state if rows else "gone",
            "peer": before.peer,
        }

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        """The server's data kept arriving at the cut again and again (retransmissions of
        sequence numbers already seen), unanswered."""
        seen, retransmitted = set(), 0
        for s in after(captured, since_monotonic, "in"):
            if not s.payload_len:
                continue
            if s.seq in seen:
                retransmitted += 1
            seen.add(s.seq)
        if retransmitted >= 2:
            return {
                "capture": "the server retransmitted into the blackhole",
                "retransmissions": retransmitted,
            }
        return None
