"""What the crowd's processes say to each other. Pure constants and small codecs; imports no
locust, so that the harness's side can use it.

Between the master and its workers (Locust custom messages):
- worker -> master ``crowd_hello`` {name, pid, host}: sent on joining; the master answers
  with ``crowd_config`` (the endpoint without its password, dialect, transport, timeout,
  mix, op interval);
- worker -> master ``crowd_status`` {name, logged_on, logon_failed, logon_error}: twice a
  second, so that the master knows when the crowd is logged on;
- master -> workers ``crowd_phase`` {phase}: at each phase boundary of the harness's clock
  (and ``end`` after the recovery phase);
- master -> workers ``crowd_flush``, answered by ``crowd_report`` {name, phases}: each
  worker's encoded histograms (harness.crowd.recorder).

Between the harness and the master (JSON lines): the config on the master's stdin, then
``t0`` (the clients' shared t0, CLOCK_MONOTONIC: the master runs on the harness's machine);
the master's stdout says ``ready`` (or ``error``) and finally ``result``.
"""

from __future__ import annotations

import json

HELLO = "crowd_hello"
CONFIG = "crowd_config"
STATUS = "crowd_status"
PHASE = "crowd_phase"
FLUSH = "crowd_flush"
REPORT = "crowd_report"
END_PHASE = "end"
STATUS_INTERVAL_S = 0.5

# Lines the master prints (the "event" key)
READY = "ready"
ERROR = "error"
RESULT = "result"


def line(event: str, **fields) -> str:
    """One JSON line of the master's output."""
    return json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n"


def parse_line(text: str) -> dict | None:
    """A master's output line as a dict, or None when it is not one of ours (a log line)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        d = json.loads(text)
    except ValueError:
        return None
    return d if isinstance(d, dict) and isinstance(d.get("event"), str) else None
