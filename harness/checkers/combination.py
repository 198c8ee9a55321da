"""Which dialect x transport a run asked for and which one its clients got. Pure: from the
history alone (the runner's ``run`` start event and its ``client`` events)."""

from __future__ import annotations

from harness.dialects import offered


def negotiated(events: list[dict]) -> dict | None:
    """{dialect, transport, port, clients} the clients' sessions negotiated, or None when
    no client had a session (session-less scenario, or none started); ``offered``: the
    dialects their NEGOTIATE offered (every SMB 2/3 one for ``any``, from the run's start
    event; absent in histories without it); ``encrypted``: how many
    sessions the server made encrypt (absent when none). ``dialect`` is a name
    of harness.dialects ('3.1.1', 'nt1'); ``mixed`` lists every dialect seen when the
    clients disagree (a session that got another dialect than asked fails at set-up, so
    this shows only in histories of other tools)."""
    seen: dict[str, int] = {}
    transport = port = None
    encrypted = 0
    asked = None
    for e in events:
        if e.get("type") == "run" and e.get("event") == "start":
            asked = e.get("dialect_exact")
        if e.get("type") != "client" or not e.get("dialect"):
            continue
        encrypted += bool(e.get("encrypted"))
        seen[e["dialect"]] = seen.get(e["dialect"], 0) + 1
        transport = transport or e.get("transport")
        if port is None and e.get("peer"):
            port = int(str(e["peer"]).rsplit(":", 1)[1])
    if not seen:
        return None
    out = {
        "dialect": max(seen, key=seen.__getitem__),
        "transport": transport,
        "port": port,
        "clients": sum(seen.values()),
    }
    if isinstance(asked, str):
        try:
            out["offered"] = list(offered(asked))
        except ValueError:  # a name this version does not know
            pass
    if len(seen) > 1:
        out["mixed"] = sorted(seen)
    if encrypted:  # SMB 3.x sessions the server demanded encryption on
        out["encrypted"] = encrypted
    return out
