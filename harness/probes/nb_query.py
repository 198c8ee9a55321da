"""``nb_query``: a NetBIOS NAME QUERY for the server's own name <20> on UDP 137.

On the wire: one unicast NAME QUERY REQUEST (RFC 1002 4.2.12: RD set, B clear, question
NAME<20>, type NB, class IN) to the server's name service port, and its POSITIVE NAME QUERY
RESPONSE (4.2.13) with the server's address. A raw UDP socket with a prebuilt query (only
the transaction id changes), as ``nbstat``. What a client does before it connects by name;
a negative response (a name the server no longer answers for) is a failure.
"""

from __future__ import annotations

from harness.packets.nbt import NAME_QUERY_RCODES, name_query_request, parse_name_query_response
from harness.probes.name_service import NameServiceQuery


class NameQueryProbe(NameServiceQuery):
    name = "nb_query"
    what = "name query"

    def __init__(self, host: str, port: int, server_name: str, timeout_s: float = 2.0) -> None:
        super().__init__(host, port, timeout_s, name_query_request(0, server_name, 0x20))

    @classmethod
    def from_context(cls, ctx) -> NameQueryProbe:
        ep = ctx.endpoint
        return cls(ep.host, ep.ns_port, ep.netbios_name, ctx.timeout_s)

    def invoke(self) -> None:
        answer = self.exchange(parse_name_query_response)
        if answer.rcode:
            why = NAME_QUERY_RCODES.get(answer.rcode, f"rcode {answer.rcode}")
            raise ConnectionError(f"negative name query response: {why}")
