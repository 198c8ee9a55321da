"""What the name-service probes share (``nbstat``, ``nb_query``): a raw UDP socket to the
server's NetBIOS name service, a prebuilt request of which only the transaction id changes
(so the probe's own overhead stays near the floor), and late answers to earlier (timed-out)
queries skipped."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from harness.errors import ProbeTimeout
from harness.packets.nbt import MalformedPacket
from harness.probes.timing import recv_polling


class NameServiceQuery:
    """One query kind to the name service; ``what`` names it in errors."""

    what = "name service"

    def __init__(self, host: str, port: int, timeout_s: float, request: bytes) -> None:
        self.addr = (host, port)
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None
        self._trn_id = 0
        self._query_tail = request[2:]  # all but the transaction id

    def open(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.addr)

    def exchange(self, parse: Callable[[bytes], Any]) -> Any:
        """Send the next query; return the first answer ``parse`` reads that carries its
        transaction id (ProbeTimeout when none comes within the timeout)."""
        assert self.sock is not None
        self._trn_id = (self._trn_id + 1) & 0xFFFF
        self.sock.send(self._trn_id.to_bytes(2, "big") + self._query_tail)
        deadline = time.monotonic() + self.timeout_s
        while True:  # skip late answers to earlier (timed-out) queries
            try:
                data = recv_polling(self.sock, 2048, deadline)
            except TimeoutError as exc:
                raise ProbeTimeout(f"no {self.what} answer within {self.timeout_s:.1f}s") from exc
            except ConnectionRefusedError as exc:
                raise ConnectionRefusedError(
                    f"{self.what} refused (ICMP port unreachable)"
                ) from exc
            try:
                answer = parse(data)
            except MalformedPacket:
                continue
            if answer.transaction_id == self._trn_id:
                return answer

    def close(self) -> None:
        if self.sock:
            self.sock.close()
            self.sock = None
