"""MkDocs hook: the reference pages, generated at build time from the harness's own registries
and scenario model, so they cannot drift from the code.

Pages (under ``reference/`` of the site):

- probes: ``harness.probes.PROBES`` (each ``ProbeKind.description``);
- drops: ``harness.drops.DROPS`` (each class's ``wire`` sentence and its docstring: the evidence);
- holdings: ``harness.clients.holdings.HOLDINGS`` (each ``Holding.description``);
- targets: ``harness.targets.TARGETS`` and ``REMOTE`` (each implementing class's docstring);
- scenario keys: the keys the scenario model accepts (``TOP_KEYS``, ``VICTIM_KEYS``, the fields
  of ``Phases`` and ``Bound``, the probe registry), each described by the comment on its field
  in the model's dataclass (on the field's line, else the comment lines just above it).

``missing_text()`` lists every entry without text; tests/unit/test_reference_docs.py fails on
any. The hook only adds generated files: it never writes into the source tree.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import textwrap
import tokenize
from dataclasses import dataclass

from mkdocs.structure.files import File

from harness.checkers.bounds import Bound
from harness.clients.holdings import HOLDINGS
from harness.drops import DROPS
from harness.probes import PROBES
from harness.scenario.crowd import CROWD_KEYS, CROWD_OPS, CrowdSpec
from harness.scenario.fault_schedule import FaultSchedule
from harness.scenario.model import TOP_KEYS, DropSpec, Scenario
from harness.scenario.victim import VICTIM_KEYS, VictimSpec
from harness.schedule import Phases
from harness.targets import REMOTE, TARGETS

# Scenario keys whose model field has another name.
FIELD_OF_KEY = {"probes": "rates_hz"}


@dataclass(frozen=True)
class Entry:
    name: str
    text: str
    facts: tuple[tuple[str, str], ...] = ()  # (what, value) shown beside the text


def _doc(obj) -> str:
    """The object's own docstring (not one inherited from a base class), one paragraph."""
    raw = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    return " ".join(inspect.cleandoc(raw).split()) if raw else ""


def field_comments(cls) -> dict[str, str]:
    """Each dataclass field's comment in ``cls``'s source: the comment on the field's line,
    else the run of comment lines just above it."""
    source = textwrap.dedent(inspect.getsource(cls))  # a nested class is indented
    names = {f.name for f in dataclasses.fields(cls)}
    lines = source.splitlines()
    comments: dict[int, str] = {}  # line number (1-based) -> comment text
    trailing: set[int] = set()  # lines where the comment follows code
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
            if lines[tok.start[0] - 1][: tok.start[1]].strip():
                trailing.add(tok.start[0])
        elif tok.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            code_lines.add(tok.start[0])
    found: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        head = line.strip().split(":", 1)[0].strip()
        if (
            head not in names
            or head in found
            or not line.startswith("    ")
            or line.startswith("     ")
        ):
            continue
        if number in trailing:
            found[head] = comments[number]
            continue
        above, n = [], number - 1
        while n in comments and n not in trailing and n not in code_lines:
            above.insert(0, comments[n])
            n -= 1
        if above:
            found[head] = " ".join(above)
    return found


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return "" if field.default is None else repr(field.default)
    return ""


def probes() -> list[Entry]:

    return [
        Entry(
            p.name,
            p.description,
            (
                (
                    "default rate",
                    f"{p.default_rate_hz:g} Hz" + (" (off)" if not p.default_rate_hz else ""),
                ),
                ("runs on", "a session of its own" if p.needs_session else "no session"),
                ("a URL target must offer", p.capability or "a login and tree connect"),
                ("implementation", f"`{p.impl}`"),
            ),
        )
        for p in PROBES.values()
    ]


def drops() -> list[Entry]:

    out = []
    for mode, cls in DROPS.items():
        params = [
            f"`{name}` ({p.default!r})"
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.default is not inspect.Parameter.empty
        ]
        facts = [("on the wire", cls.wire), ("params", ", ".join(params) or "none")]
        needs = [
            what
            for what, flag in (
                ("root", cls.needs_root),
                ("a victim host of its own", cls.needs_own_host),
            )
            if flag
        ]
        if needs:
            facts.append(("needs", ", ".join(needs)))
        if cls.smb1_unsupported:
            facts.append(("not over nt1", cls.smb1_unsupported))
        if cls.needs_holdings:
            facts.append(("holdings", ", ".join(f"`{h}`" for h in cls.needs_holdings)))
        facts.append(("implementation", f"`{cls.__module__}:{cls.__name__}`"))
        out.append(Entry(mode, _doc(cls), tuple(facts)))
    return out


def holdings() -> list[Entry]:

    return [
        Entry(h.name, h.description, (("lowest dialect", h.min_dialect),))
        for h in HOLDINGS.values()
    ]


def targets() -> list[Entry]:

    out = []
    for kind in (*TARGETS.values(), REMOTE):
        facts = [("spelling", f"`{kind.spelling or 'smb://[DOMAIN;]USER@HOST[:PORT]/SHARE'}`")]
        if kind.variants:
            default = f" (default `{kind.default_variant}`)" if kind.default_variant else ""
            facts.append(
                (
                    kind.variant_name or "variant",
                    ", ".join(f"`{v}`" for v in kind.variants) + default,
                )
            )
        if kind.options:
            facts.append(("options", ", ".join(f"`{o}`" for o in kind.options)))
        facts.append(("implementation", f"`{kind.impl}`"))
        out.append(Entry(kind.name, _doc(kind.load()), tuple(facts)))
    return out


def scenario_keys() -> dict[str, list[Entry]]:
    """Sections of the scenario-keys page: table heading -> its keys."""

    def section(cls, keys=None) -> list[Entry]:
        """The keys (default: every field of ``cls``) in the order of ``cls``'s fields."""
        comments = field_comments(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        keys = (
            list(fields)
            if keys is None
            else sorted(keys, key=lambda k: list(fields).index(FIELD_OF_KEY.get(k, k)))
        )
        out = []
        for key in keys:
            field = fields[FIELD_OF_KEY.get(key, key)]
            facts = (("default", f"`{_default(field)}`"),) if _default(field) else ()
            out.append(Entry(key, comments.get(field.name, ""), facts))
        return out

    modes = ", ".join(f"`{m}`" for m in DROPS)
    drop_keys = [
        Entry(e.name, e.text, (("one of", modes),) if e.name == "mode" else e.facts)
        for e in section(DropSpec)
    ]
    return {
        "top level": section(Scenario, TOP_KEYS),
        "[drop]": drop_keys,
        "[phases]": section(Phases),
        "[probes]": [
            Entry(
                p.name,
                f"rate in Hz (0 turns it off): {p.description}",
                (("default", f"`{p.default_rate_hz:g}`"),),
            )
            for p in PROBES.values()
        ],
        "[bounds] and [bounds.per_probe.PROBE]": section(Bound),
        "[victim]": section(VictimSpec, VICTIM_KEYS),
        "[schedule]": section(FaultSchedule),
        "[crowd] (see the crowd page)": [
            Entry(
                e.name,
                e.text,
                (("operations", ", ".join(f"`{op}`" for op in CROWD_OPS)),)
                if e.name == "mix"
                else e.facts,
            )
            for e in section(CrowdSpec, CROWD_KEYS)
        ],
    }


PAGES = {
    "probes": (
        "Probes",
        (
            "The registry `harness/probes/__init__.py` (`PROBES`): a new probe is one "
            "file plus one line there."
        ),
        probes,
    ),
    "drops": (
        "Drop modes",
        (
            "The registry `harness/drops/__init__.py` (`DROPS`): one module per "
            "way the victim loses its session."
        ),
        drops,
    ),
    "holdings": (
        "Holdings",
        (
            "The registry `harness/clients/holdings.py` (`HOLDINGS`): what the "
            "victim can hold on a shared file when it drops (`[victim] holds`)."
        ),
        holdings,
    ),
    "targets": (
        "Targets",
        (
            "The registry `harness/targets/__init__.py` (`TARGETS`, and `REMOTE` "
            "for a server given as a URL or a targets-file name)."
        ),
        targets,
    ),
    "scenario-keys": (
        "Scenario keys",
        (
            "Every key a scenario file (TOML) or `--set KEY=VALUE` can "
            "set, from the scenario model; the text is the comment on the key's field."
        ),
        scenario_keys,
    ),
}


def _sections(page: str) -> dict[str, list[Entry]]:
    made = PAGES[page][2]()
    return made if isinstance(made, dict) else {"": made}


def missing_text() -> list[str]:
    """``page: entry`` for every registry entry or scenario key without text."""
    return [
        f"{page}: {heading + ' ' if heading else ''}{e.name}"
        for page in PAGES
        for heading, entries in _sections(page).items()
        for e in entries
        if not e.text.strip()
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(page: str) -> str:
    title, intro, _ = PAGES[page]
    out = [
        f"# {title}",
        "",
        "*Generated from the code at build time (`docs/hooks/reference.py`).*",
        "",
        intro,
        "",
    ]
    for heading, entries in _sections(page).items():
        if heading:
            out += [
                f"## `{heading}`" if heading.startswith("[") else f"## {heading.capitalize()}",
                "",
            ]
        if page == "scenario-keys":
            out += ["| key | default | meaning |", "| --- | --- | --- |"]
            for e in entries:
                default = dict(e.facts).get("default", "") or dict(e.facts).get("one of", "")
                out.append(f"| `{e.name}` | {_cell(default)} | {_cell(e.text)} |")
            out.append("")
            continue
        for e in entries:
            out += [f"## `{e.name}`", "", e.text or "*(no text)*", ""]
            out += [f"- **{what}**: {value}" for what, value in e.facts]
            out.append("")
    return "\n".join(out)


def on_files(files, config):

    for page in PAGES:
        files.append(File.generated(config, f"reference/{page}.md", content=render(page)))
    return files
