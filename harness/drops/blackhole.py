"""``blackhole``: the victim silently vanishes, as in the KB ("the problem does not occur
until TCP/IP sees that there is a timeout").

On the wire: SMB2 READs the server must answer, then nothing at all: every packet of the
victim's flow is dropped in both directions by iptables on the victim's side (no FIN, no
RST, no ICMP). The server's TCP retransmits into the void until it gives up (the embedded
server's namespace has net.ipv4.tcp_retries2 = 3: about 3 s).
"""

from harness.drops.base import Drop, abort, after
from harness.drops.stall import prepare_big_file
from harness.lab import firewall


class Blackhole(Drop):
    mode = "blackhole"
    wire = "outstanding SMB2 READs, then every packet of the flow dropped both ways (no FIN/RST)"
    holds_session = True
    needs_root = True

    def __init__(self, read_total_bytes: int = 1 << 20) -> None:
        if not 0 < int(read_total_bytes) <= 4 << 20:
            raise ValueError("read_total_bytes must be in (0, 4 MiB]")
        self.read_total_bytes = int(read_total_bytes)
        self.file_id = None
        self.retransmits_seen = 0  # evidence state, kept by the runner's instance

    def prepare(self, session):
        self.file_id = prepare_big_file(session, self.read_total_bytes)

    def act(self, session):
        # Inbound first: the server's answers to the READs sent next can then never be
        # acknowledged, so its TCP has data to retransmit (however fast the path is).
        local = session.local_addr()
        host, port = session.sock.getpeername()[:2]
        rules = firewall.cut_flow(local, f"{host}:{port}", self.owner_pid, chains=("INPUT",))
        size = session.max_read_bytes()
        offsets = range(0, self.read_total_bytes, size)
        for offset in offsets:
            session.send_read_nowait(self.file_id, offset, size)
        rules += firewall.cut_flow(local, f"{host}:{port}", self.owner_pid, chains=("OUTPUT",))
        return {"outstanding_reads": len(offsets), "cut": f"{local} <-> {host}:{port}",
                "rules": rules}

    def release(self, session):
        abort(session.sock)  # the RST is dropped too: the server learns nothing from it
        firewall.remove_cuts(self.owner_pid)

    def evidence(self, before, rows, detail, victim_exitcode):
        """The server retransmitted to the victim (seen in tcp_info), then its TCP gave up
        and the connection left the table. Stateful across polls of one run."""
        for r in rows:
            self.retransmits_seen = max(self.retransmits_seen, int(r.info.get("retrans", 0)),
                                        int(r.info.get("backoff", 0)))
        if before is None or self.retransmits_seen == 0:
            return None
        if any(r.state == "ESTAB" for r in rows):
            return None
        return {"server_tcp": "retransmitted, then gave up", "retransmits_seen": self.retransmits_seen,
                "server_socket_after": rows[0].state if rows else "gone", "peer": before.peer}

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
            return {"capture": "the server retransmitted into the blackhole", "retransmissions": retransmitted}
        return None
