"""``nb_query``: a NetBIOS NAME QUERY for the server's own name <20> on UDP 137.

On the wire: one unicast NAME QUERY REQUEST (RFC 1002 4.2.12: RD set, B clear, question
NAME<20>, type NB, class IN) to the server's name service port, and its POSITIVE NAME QUERY
RESPONSE (4.2.13) with the server's address. A raw UDP socket with a prebuilt query (only
the transaction id changes), as ``nbstat``. What a client does before it connects by name;
a negative response (a name the server no longer answers for) is a failure.
"""

from __future__ import annotations

import socket
import time

from harness.errors import ProbeTimeout
from harness.packets.nbt import (
    NAME_QUERY_RCODES,
    MalformedPacket,
    name_query_request,
    parse_name_query_response,
)
from harness.probes.timing import recv_polling


class NameQueryProbe:
    name = "nb_query"

    def __init__(self, host: str, port: int, server_name: str, timeout_s: float = 2.0) -> None:
        self.addr = (host, port)
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None
        self._trn_id = 0
        self._query_tail = name_query_request(0, server_name, 0x20)[2:]  # all but the id

    @classmethod
    def from_context(cls, ctx) -> NameQueryProbe:
        ep = ctx.endpoint
        return cls(ep.host, ep.ns_port, ep.netbios_name, ctx.timeout_s)

    def open(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.addr)

    def invoke(self) -> None:
        assert self.sock is not None
        self._trn_id = (self._trn_id + 1) & 0xFFFF
        self.sock.send(self._trn_id.to_bytes(2, "big") + self._query_tail)
        deadline = time.monotonic() + self.timeout_s
        while True:  # skip late answers to earlier (timed-out) queries
            try:
                data = recv_polling(self.sock, 2048, deadline)
            except TimeoutError as exc:
                raise ProbeTimeout(f"no name query answer within {self.timeout_s:.1f}s") from exc
            except ConnectionRefusedError as exc:
                raise ConnectionRefusedError("name query refused (ICMP port unreachable)") from exc
            try:
                answer = parse_name_query_response(data)
            except MalformedPacket:
                continue
            if answer.transaction_id != self._trn_id:
                continue
            if answer.rcode:
                why = NAME_QUERY_RCODES.get(answer.rcode, f"rcode {answer.rcode}")
                raise ConnectionError(f"negative name query response: {why}")
            return

    def close(self) -> None:
        if self.sock:
            self.sock.close()
            self.sock = None
