"""The reference pages of the docs site are generated from the registries and the scenario model
(docs/hooks/reference.py): every entry must have text, and each page names every entry."""

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from harness.drops import DROPS
from harness.drops.base import Drop
from harness.probes import PROBES, ProbeKind

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "reference.py"


def load_hook():
    spec = importlib.util.spec_from_file_location("docs_reference_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


reference = load_hook()


def test_every_registry_entry_and_scenario_key_has_text():
    assert reference.missing_text() == []


@pytest.mark.parametrize("page", list(reference.PAGES))
def test_each_page_names_every_entry(page):
    text = reference.render(page)
    for entries in reference._sections(page).values():
        for entry in entries:
            assert f"`{entry.name}`" in text
    assert "*(no text)*" not in text


def test_scenario_keys_cover_what_the_model_accepts():
    from harness.scenario.model import TOP_KEYS
    from harness.scenario.victim import VICTIM_KEYS

    sections = reference.scenario_keys()
    assert {e.name for e in sections["top level"]} == set(TOP_KEYS)
    assert {e.name for e in sections["[victim]"]} == set(VICTIM_KEYS)
    assert {e.name for e in sections["[probes]"]} == set(PROBES)


def test_a_probe_without_a_description_is_missing(monkeypatch):
    monkeypatch.setitem(PROBES, "mute", ProbeKind("mute", 1.0, False, None, "x:Y"))
    assert reference.missing_text() == ["probes: mute"]


def test_a_drop_without_a_docstring_is_missing(monkeypatch):
    class Quiet(Drop):  # a docstring inherited from Drop does not count
        mode = "quiet"
        wire = "nothing"

    monkeypatch.setitem(DROPS, "quiet", Quiet)
    assert reference.missing_text() == ["drops: quiet"]


def test_field_comments_on_the_line_else_just_above():
    @dataclasses.dataclass
    class Example:
        a: int = 1  # on the line
        # above, first line
        # above, second line
        b: int = 2
        c: int = 3

        d: int = 4  # on d's line

    assert reference.field_comments(Example) == {
        "a": "on the line",
        "b": "above, first line above, second line",
        "d": "on d's line",
    }
