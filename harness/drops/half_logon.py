"""``half_logon``: the victim opens ``connections`` new connections and stops each one in the
middle of a logon, then stays silent with them open until the run ends. Its own session
stays as it was.

On the wire, per connection: TCP connect (and the NBT session request on 139), SMB2
NEGOTIATE answered; with ``after = "session_setup"`` (the default) also the first
SESSION_SETUP leg (SPNEGO with an NTLMSSP NEGOTIATE) answered with
STATUS_MORE_PROCESSING_REQUIRED. Then nothing: no second leg, no FIN, no RST, until the
run's end (RST).

A correct server keeps serving everyone else: each half logon is its own connection's
business (Samba forks a process per connection). A server that serializes logons makes
every other logon wait on it (the replica plays one: ``replica:half_logon,hold=logon``).

Evidence, server side: every one of the victim's new connections has an ESTABLISHED server
socket from the victim's lab host with nothing left unread (Recv-Q 0): the server took each
leg and now waits for the next. On a server the harness cannot look inside (a URL target),
the victim's record alone: every connection's legs answered (the SESSION_SETUP leg with
STATUS_MORE_PROCESSING_REQUIRED), as ``ignore_breaks`` proves itself there.
"""

from __future__ import annotations

from impacket import ntlm
from impacket.smb3structs import (
    SMB2_NEGOTIATE_SIGNING_ENABLED,
    SMB2_SESSION_SETUP,
    SMB2SessionSetup,
)
from impacket.spnego import SPNEGO_NegTokenInit, TypesMech

from harness.clients.connect import connect, drop_socket
from harness.drops.base import Drop, abort
from harness.server import ServerSocket
from harness.validate import number

STOP_POINTS = ("negotiate", "session_setup")
NTLMSSP = "NTLMSSP - Microsoft NTLM Security Support Provider"
MORE = "0xc0000016"  # STATUS_MORE_PROCESSING_REQUIRED: the server waits for the next leg


def first_session_setup_leg(server) -> int:
    """Send the first SESSION_SETUP leg (SPNEGO NegTokenInit, NTLMSSP NEGOTIATE) on an impacket
    SMB3 object just negotiated; the NT status of the server's answer (0xC0000016,
    STATUS_MORE_PROCESSING_REQUIRED, from a server that waits for the second leg)."""
    setup = SMB2SessionSetup()
    setup["SecurityMode"] = SMB2_NEGOTIATE_SIGNING_ENABLED
    setup["Flags"] = 0
    blob = SPNEGO_NegTokenInit()
    blob["MechTypes"] = [TypesMech[NTLMSSP]]
    blob["MechToken"] = ntlm.getNTLMSSPType1("", "", False).getData()
    setup["SecurityBufferLength"] = len(blob)
    setup["Buffer"] = blob.getData()
    packet = server.SMB_PACKET()
    packet["Command"] = SMB2_SESSION_SETUP
    packet["Data"] = setup
    answer = server.recvSMB(server.sendSMB(packet))
    return int(answer["Status"])


def half_logon_evidence(rows: list[ServerSocket], peers: list[str]) -> dict | None:
    """Pure: every connection of ``peers`` has an ESTABLISHED server socket with nothing
    unread; None until then."""
    mine = {r.peer: r for r in rows if r.peer in peers}
    if not peers or len(mine) < len(peers):
        return None
    if any(r.state != "ESTAB" or r.recv_q for r in mine.values()):
        return None
    return {
        "server_sockets": "ESTAB",
        "half_logons": len(mine),
        "unread_bytes": 0,
        "peers": sorted(mine),
    }


def half_logon_record(detail: dict) -> dict | None:
    """Pure: the victim's record proves its half logons: each connection negotiated, and
    each first SESSION_SETUP leg (where sent) answered STATUS_MORE_PROCESSING_REQUIRED."""
    peers = detail.get("peers") or []
    answers = detail.get("session_setup_answers", [])
    if not peers or (detail.get("after") == "session_setup" and answers.count(MORE) < len(peers)):
        return None
    return {
        "victim_record": f"{len(peers)} logons stopped after {detail.get('after')}, each answered",
        "half_logons": len(peers),
    }


class HalfLogon(Drop):
    """Evidence: the server's socket of each half logon ESTABLISHED and drained."""

    mode = "half_logon"
    wire = (
        "connections new connections, each stopped after NEGOTIATE or the first "
        "SESSION_SETUP leg, then silent and open"
    )
    smb1_unsupported = "its SESSION_SETUP leg is an SMB2 one"

    def __init__(
        self, connections: int = 4, after: str = "session_setup", connect_timeout_s: float = 5.0
    ) -> None:
        self.connections = int(number(connections, "connections", 1, 64, integer=True))
        if after not in STOP_POINTS:
            raise ValueError(f"after must be one of {', '.join(STOP_POINTS)}, got {after!r}"[:300])
        self.after = after
        self.connect_timeout_s = float(
            number(connect_timeout_s, "connect_timeout_s", 0, 60, lo_open=True)
        )
        self.halves: list = []  # the victim's impacket connections, each half logged on

    def act(self, session):
        answers = []
        for k in range(self.connections):
            conn, _ = connect(
                session.endpoint,
                f"NBTH-half{k + 1}",
                self.connect_timeout_s,
                session.dialect,
                session.transport,
            )
            self.halves.append(conn)
            if self.after == "session_setup":
                answers.append(f"{first_session_setup_leg(conn.getSMBServer()):#010x}")
        peers = []
        for conn in self.halves:
            host, port = conn.getSMBServer().get_socket().getsockname()[:2]
            peers.append(f"{host}:{port}")
        detail: dict = {"connections": len(peers), "after": self.after, "peers": peers}
        if answers:
            detail["session_setup_answers"] = answers
        return detail

    def watched_peers(self, detail: dict) -> list[str] | None:
        return list(detail.get("peers", [])) or None

    def release(self, session):
        for conn in self.halves:
            try:
                abort(conn.getSMBServer().get_socket())
            except Exception:  # noqa: BLE001 best effort: it may be half gone
                drop_socket(conn)
        self.halves = []
        abort(session.sock)

    def evidence(self, before, rows, detail, victim_exitcode):
        return half_logon_evidence(rows, list(detail.get("peers", [])))

    def client_evidence(self, captured, since_monotonic, detail, victim_exitcode):
        return half_logon_record(detail)
