"""SMB dialects and transports a scenario can ask for, and the matrix of both. Pure.

Exact dialects (what the client offers, alone, in its NEGOTIATE): ``nt1`` (SMB1, "NT LM
0.12"), ``2.0.2``, ``2.1``, ``3.0``, ``3.1.1``. Also spelt ``smb2.1``, ``smb3.1.1``, ... The
names of before stay valid as aliases: ``smb1`` = ``nt1``, ``smb2`` = ``2.1``, ``smb3`` =
``3.1.1``. (3.0.2 is not offered: impacket cannot offer it alone.)

``any`` (the default) is no one dialect: every SMB 2/3 dialect the harness supports
(``OFFERED_BY_ANY``) in one SMB2 NEGOTIATE, and the session uses whatever the server picks, as
a real client does. It never offers SMB1: only ``nt1`` does (the credential rule).

Transports: ``nbt`` (TCP 139 with a NetBIOS SESSION REQUEST first, RFC 1002) and ``tcp``
(direct TCP on 445, [MS-SMB2] 2.1: the same 4-byte framing, no session request).
"""

from __future__ import annotations

EXACT = ("nt1", "2.0.2", "2.1", "3.0", "3.1.1")
ALIASES = {
    "smb1": "nt1",
    "smb2": "2.1",
    "smb3": "3.1.1",
    **{f"smb{d}": d for d in EXACT if d != "nt1"},
}
ANY = "any"
OFFERED_BY_ANY = ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")  # impacket's multi-dialect NEGOTIATE
DIALECTS = (*EXACT, *ALIASES, ANY)  # every accepted name
TRANSPORTS = ("nbt", "tcp")
DEFAULT_DIALECT = ANY
DEFAULT_TRANSPORT = "nbt"
# The matrix --nbt-matrix / --matrix runs: SMB1, 2.1, 3.0, 3.1.1 over both transports.
MATRIX_DIALECTS = ("nt1", "2.1", "3.0", "3.1.1")


def exact(name: str) -> str:
    """The exact dialect a name stands for (``any`` stays ``any``: the server picks); ValueError
    for an unknown name."""
    if name in EXACT or name == ANY:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {name!r}")


def is_smb1(name: str) -> bool:
    return exact(name) == "nt1"


def offered(name: str) -> tuple[str, ...]:
    """The dialects a client asking for ``name`` offers in its NEGOTIATE."""
    return OFFERED_BY_ANY if exact(name) == ANY else (exact(name),)


def label(name: str) -> str:
    """``SMB 3.1.1``, or ``any SMB 2/3 dialect`` for ``any``: for messages."""
    return "any SMB 2/3 dialect" if exact(name) == ANY else f"SMB {exact(name)}"


def dialect_name(value) -> str:
    """A dialect from a TOML value or an override: '3.0' and '2.1' parse as numbers there
    (``--set dialect=3.0``), so a float is taken as the text it was written as."""
    if isinstance(value, float):
        return repr(value)
    if not isinstance(value, str):
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {value!r}")
    return value


def combination_id(dialect: str, transport: str) -> str:
    """The combination's id in item ids and scenario names: ``3.1.1-tcp``."""
    return f"{exact(dialect)}-{transport}"


def parse_list(text: str, kind: str) -> list[str]:
    """A comma-separated list of dialects (kind 'dialect') or transports ('transport'),
    checked, without duplicates, in the order given; ValueError with one line otherwise."""
    known = DIALECTS if kind == "dialect" else TRANSPORTS
    out: list[str] = []
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue
        if item not in known:
            raise ValueError(f"unknown {kind} {item!r} (known: {', '.join(known)})")
        key = exact(item) if kind == "dialect" else item
        if key not in [exact(o) if kind == "dialect" else o for o in out]:
            out.append(item)
    if not out:
        raise ValueError(f"no {kind} given")
    return out


def matrix(
    dialects: list[str] | None,
    transports: list[str] | None,
    everything: bool,
    own_dialect: str,
    own_transport: str,
) -> list[tuple[str, str]]:
    """The (dialect, transport) combinations a run asks for: the lists given, else (with
    ``everything``) the whole matrix, else the scenario's own value; [] when nothing asks
    for a matrix at all."""
    if not (dialects or transports or everything):
        return []
    ds = dialects or (list(MATRIX_DIALECTS) if everything else [own_dialect])
    ts = transports or (list(TRANSPORTS) if everything else [own_transport])
    return [(d, t) for d in ds for t in ts]
