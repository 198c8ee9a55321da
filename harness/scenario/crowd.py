"""The scenario's [crowd] table: a Locust crowd of SMB users as background load (how many
users, how fast they start, what they do and how often, how many local workers carry them,
where the master listens for remote ones) and the bounds the crowd's own figures are judged
by. Read and checked from its dict form; pure. harness.crowd runs it.

The crowd is coarse load, not a probe: its operations are judged per phase (errors, p99
against the crowd's own baseline) and never mixed with the probes' rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from harness.validate import number, table

CROWD_OPS = ("echo", "open_close", "read", "write", "list")
DEFAULT_MIX = {"echo": 4, "open_close": 2, "read": 2, "write": 1, "list": 1}
DEFAULT_MASTER_PORT = 5557  # Locust's own default
MAX_USERS = 100_000
MAX_LOCAL_WORKERS = 16
CROWD_KEYS = {
    "users",
    "spawn_rate",
    "mix",
    "workers",
    "remote_workers",
    "master_bind",
    "op_interval_s",
    "join_timeout_s",
    "max_errors",
    "p99_floor_ms",
    "p99_factor",
}


@dataclass(frozen=True)
class CrowdSpec:
    """A Locust crowd: ``users`` SMB sessions spread over ``workers`` local worker processes
    (each in a lab host of its own) and ``remote_workers`` that join from other machines."""

    users: int  # SMB sessions in all, each its own Locust user
    spawn_rate: float = 50.0  # users started per second (before the warm-up)
    mix: dict = field(default_factory=lambda: dict(DEFAULT_MIX))  # operation -> weight
    workers: int = 1  # local worker processes, each in a lab host of its own
    remote_workers: int = 0  # workers the scenario waits for from other machines
    # "HOST[:PORT]" the master binds for remote workers; "" binds only inside the lab
    master_bind: str = ""
    # each user starts one operation every op_interval_s (5 s: 200 users on two local workers
    # leave the probes their bounds on a 2-core machine; see docs/pages/crowd.md)
    op_interval_s: float = 5.0
    join_timeout_s: float = 30.0  # every worker joined and every user spawned by then
    max_errors: int = 0  # crowd operations failed or unanswered, per judged phase
    # judged p99 <= max(p99_floor_ms, p99_factor x baseline p99). 500 ms: the crowd is
    # coarse (no machine-stall correction, nice 10 on a busy machine: 170 ms seen on a
    # healthy server), and a server stall is seconds (the replica's freeze: 1.1 s)
    p99_floor_ms: float = 500.0
    p99_factor: float = 5.0  # see p99_floor_ms

    @property
    def expected_workers(self) -> int:
        return self.workers + self.remote_workers

    @property
    def master_host_port(self) -> tuple[str, int] | None:
        """(host, port) of ``master_bind``, or None when the master binds only in the lab."""
        return parse_host_port(self.master_bind) if self.master_bind else None

    def p99_limit_us(self, baseline_p99_us: float) -> float:
        return max(self.p99_floor_ms * 1000.0, self.p99_factor * baseline_p99_us)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mix"] = dict(self.mix)
        return d


def parse_host_port(text: str, default_port: int = DEFAULT_MASTER_PORT) -> tuple[str, int]:
    """``HOST[:PORT]`` (``[v6]:PORT`` too) as (host, port); ValueError with one line."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected HOST[:PORT], got {text!r}"[:200])
    text = text.strip()
    host, colon, port_text = text, "", ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        colon, port_text = rest[:1], rest[1:]
        if rest and colon != ":":
            raise ValueError(f"expected HOST[:PORT], got {text!r}"[:200])
    elif text.count(":") == 1:
        host, colon, port_text = text.partition(":")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"expected HOST[:PORT], got {text!r}"[:200])
    if not colon:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port must be 1-65535 in HOST[:PORT], got {text!r}"[:200])
    return host, int(port_text)


def crowd_from_dict(crowd_d) -> CrowdSpec | None:
    """The [crowd] table (None or {}: no crowd). ValueError names the first problem (the
    model adds the file it came from)."""
    if crowd_d is None or crowd_d == {}:
        return None
    table(crowd_d, "crowd", CROWD_KEYS)
    if "users" not in crowd_d:
        raise ValueError("[crowd] needs 'users' (how many SMB sessions the crowd runs)")

    def num(key: str, default, lo: float, hi: float, **kw):
        return number(crowd_d.get(key, default), f"[crowd] {key}", lo, hi, **kw)

    users = int(num("users", None, 1, MAX_USERS, integer=True))
    workers = int(num("workers", 1, 0, MAX_LOCAL_WORKERS, integer=True))
    remote = int(num("remote_workers", 0, 0, 10_000, integer=True))
    if workers + remote < 1:
        raise ValueError("[crowd] needs at least one worker (workers or remote_workers)")
    master_bind = crowd_d.get("master_bind", "")
    if not isinstance(master_bind, str):
        raise ValueError(f"[crowd] master_bind must be a string HOST[:PORT], got {master_bind!r}")
    if master_bind:
        try:
            parse_host_port(master_bind)
        except ValueError as exc:
            raise ValueError(f"[crowd] master_bind: {exc}") from None
    if remote and not master_bind:
        raise ValueError(
            "[crowd] remote_workers need master_bind (the master binds no address outside "
            "the lab unless asked)"
        )
    mix_d = crowd_d.get("mix", DEFAULT_MIX)
    if not isinstance(mix_d, dict):
        raise ValueError("[crowd.mix] must be a table of operation = weight")
    mix = {}
    for op, weight in mix_d.items():
        if op not in CROWD_OPS:
            raise ValueError(
                f"[crowd.mix]: unknown operation {op!r} (known: {', '.join(CROWD_OPS)})"
            )
        mix[op] = float(number(weight, f"[crowd.mix] {op} weight", 0, 1e6))
    if not any(mix.values()):
        raise ValueError("[crowd.mix] needs at least one operation with a weight > 0")
    return CrowdSpec(
        users=users,
        spawn_rate=float(num("spawn_rate", 50.0, 0, 10_000, lo_open=True)),
        mix=mix,
        workers=workers,
        remote_workers=remote,
        master_bind=master_bind,
        op_interval_s=float(num("op_interval_s", 5.0, 0.01, 3600)),
        join_timeout_s=float(num("join_timeout_s", 30.0, 1, 3600)),
        max_errors=int(num("max_errors", 0, 0, 10**9, integer=True)),
        p99_floor_ms=float(num("p99_floor_ms", 500.0, 0, 3.6e6)),
        p99_factor=float(num("p99_factor", 5.0, 0, 1e6)),
    )
