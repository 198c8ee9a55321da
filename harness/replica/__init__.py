"""``replica``: a known-bad NBT relay that reproduces the KB Q186873 stall in front of any server.

Behaviour: it forwards NBT session traffic (TCP ``nbt_port``, default 139), direct SMB (TCP
``smb_port``, default 445; same 4-byte framing: 0x00 and a 3-byte length) and name-service
datagrams such as NBSTAT (UDP ``ns_port``, default 137) to the real server, faithfully, until
a client's session is lost. Then, like NT 4.0's NetBIOS layer, it *freezes* for ``hold_s``:
nothing passes for any session in either direction, yet every socket is still read (TCP
keeps ACKing; bytes are held in arrival order), new connections are accepted but not served
and name-service queries are held unanswered. Then it recovers: everything held is flushed in
order (held NBSTAT queries are answered late, like NO_WAIT commands in the KB) and relaying
goes on. A trigger during a freeze extends it (``hold_s`` from the latest trigger).

What loses a session (``trigger``):

- ``timeout``: the relay's TCP to the client times out (ETIMEDOUT: TCP_USER_TIMEOUT
  ``user_timeout_ms`` with keepalive 1 s/1 s/3 probes, so a blackholed client or one that
  advertises a zero window and never reads fails within a few seconds), or a frame from the
  client stays incomplete (header says N bytes, fewer came) with no progress for
  ``frame_timeout_s`` (a NetBIOS-level timeout: the "half frame" drop);
- ``reset``: ECONNRESET / EPIPE on the client's socket;
- ``any``: either of those, or a FIN from the client while a request is outstanding or a frame
  is incomplete;
- ``never``: a fair relay.

Connections that never sent a SESSION MESSAGE (e.g. only 0x81 -> 0x82) and graceful closes
(nothing outstanding) never trigger; each connection triggers at most once.

Outstanding requests are counted per connection: +1 for each complete SESSION MESSAGE from the
client, -1 (never below 0) for each one delivered to it from the server. Approximation: the SMB
header is peeked so SMB2 interim responses (ASYNC + STATUS_PENDING), oplock/lease break
notifications, SMB1 server-sent oplock breaks, and requests that get no answer (SMB2 CANCEL,
SMB1 NT_CANCEL, *_SECONDARY transaction parts, oplock-release LOCKING_ANDX) are not counted;
encrypted (SMB3 transform) and non-SMB messages count one to one; a request answered by
several responses cannot go below zero.

``degrade_ms`` > 0: instead of freezing, for ``hold_s`` every chunk forwarded in either direction
and every name-service answer is delayed by ``degrade_ms`` (an SMB round trip gains about
2 x degrade_ms, an NBSTAT round trip 1 x degrade_ms).

Requests the relay answers itself, never forwarded (harness.replica.answer): ``lose_write``
N (the Nth WRITE acknowledged and lost) and ``grant_reclaim`` (every durable reconnect, DHnC or
DH2C, granted: a server that lets a stale reclaim succeed).

Events, one JSON object per line (to ``log_path``, else stderr; ``listening`` also on stdout)::

    {"t_monotonic": ..., "event": "listening", "listen": ..., "nbt_port": ..., ...}
    {"t_monotonic": ..., "event": "trigger", "peer": "ip:port",
     "reason": "reset"|"timeout"|"frame_timeout"|"close_outstanding",
     "action": "freeze"|"degrade"|"ignored", ...}
    {"t_monotonic": ..., "event": "recover", "action": "freeze"|"degrade", "held_s": ..., ...}
    {"t_monotonic": ..., "event": "granted_reclaim", "peer": "ip:port", "handle": "DH2C", ...}

``t_monotonic`` is CLOCK_MONOTONIC (``time.monotonic()``), comparable across processes on one
machine, network namespaces included.

The command line (``python -m harness.replica``, ``nbt-harness replica``): harness.replica.cli.
"""
