"""Dialect x transport: names, aliases, the matrix, scenario validation and the unsupported()
hook, and the negotiated combination read back from a hand-written history."""

import pytest

pytest_plugins = ["pytester"]

from harness import dialects
from harness.checkers.combination import negotiated
from harness.errors import BadInput
from harness.scenario.model import Scenario, from_dict
from harness.scenario.unsupported import UNSUPPORTED_CHECKS, unsupported, unsupported_check


def test_aliases_stand_for_exact_dialects():
    assert [dialects.exact(a) for a in ("smb1", "smb2", "smb3")] == ["nt1", "2.1", "3.1.1"]
    assert dialects.exact("smb3.0") == "3.0" and dialects.exact("3.1.1") == "3.1.1"
    with pytest.raises(ValueError, match="dialect must be one of"):
        dialects.exact("3.0.2")


def test_numbers_from_overrides_are_dialect_names():
    assert dialects.dialect_name(3.0) == "3.0" and dialects.dialect_name(2.1) == "2.1"
    with pytest.raises(ValueError):
        dialects.dialect_name(3)


def test_parse_list_and_matrix():
    assert dialects.parse_list("nt1, 3.1.1,smb3", "dialect") == ["nt1", "3.1.1"]  # smb3 = 3.1.1
    assert dialects.parse_list("tcp,nbt", "transport") == ["tcp", "nbt"]
    with pytest.raises(ValueError, match="unknown transport 'udp'"):
        dialects.parse_list("udp", "transport")
    with pytest.raises(ValueError, match="no dialect"):
        dialects.parse_list(" , ", "dialect")
    assert dialects.matrix(None, None, False, "smb3", "nbt") == []
    assert len(dialects.matrix(None, None, True, "smb3", "nbt")) == 8
    assert dialects.matrix(None, ["tcp"], False, "smb3", "nbt") == [("smb3", "tcp")]
    assert dialects.matrix(["nt1"], None, True, "smb3", "nbt") == [("nt1", "nbt"), ("nt1", "tcp")]


def test_scenario_keys():
    s = from_dict({"name": "x", "dialect": "3.0", "transport": "tcp"}, "t")
    assert (s.dialect, s.dialect_exact, s.transport, s.combination) == ("3.0", "3.0", "tcp", "3.0-tcp")
    assert from_dict({"name": "x", "dialect": "smb3"}, "t").dialect_exact == "3.1.1"
    assert from_dict({"name": "x"}, "t").with_overrides({"dialect": "3.0"}).dialect == "3.0"
    with pytest.raises(BadInput, match="transport must be one of nbt, tcp"):
        from_dict({"name": "x", "transport": "udp"}, "t")
    with pytest.raises(BadInput, match="dialect must be one of"):
        from_dict({"name": "x", "dialect": "smb4"}, "t")


def test_without_a_dialect_the_server_picks_among_every_smb2_and_3_dialect():
    s = from_dict({"name": "x", "drop": {"mode": "kill"}, "idle_sessions": 2}, "t")
    assert (s.dialect, s.dialect_exact, s.combination) == ("any", "any", "any-nbt")
    assert unsupported(s) is None  # never SMB1: what SMB1 cannot express is no concern
    assert not dialects.is_smb1("any")
    assert dialects.offered("any") == ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")
    assert dialects.offered("smb3") == ("3.1.1",) and dialects.offered("nt1") == ("nt1",)
    assert dialects.label("any") == "any SMB 2/3 dialect" and dialects.label("smb2") == "SMB 2.1"
    assert from_dict({"name": "x", "dialect": "3.0"}, "t").with_overrides({"dialect": "any"}).dialect == "any"
    # --dialect and --matrix keep asking for exact dialects; `any` may be named beside them
    assert dialects.parse_list("any,3.1.1", "dialect") == ["any", "3.1.1"]
    assert dialects.matrix(None, ["tcp"], False, "any", "nbt") == [("any", "tcp")]
    assert "any" not in dialects.MATRIX_DIALECTS
    from harness.clients.holdings import holding_problem
    from harness.clients.connect import DIALECTS

    assert holding_problem("durable_v2", "any") is None  # the server's pick decides, at set-up
    assert "any" not in DIALECTS and DIALECTS["smb3"] != DIALECTS["2.0.2"]


def test_what_nt1_cannot_express_is_bad_input_in_a_file_and_a_skip_in_a_matrix():
    d = {"name": "k", "drop": {"mode": "kill"}}
    with pytest.raises(BadInput, match="drop kill needs SMB 2 or 3"):
        from_dict({**d, "dialect": "smb1"}, "t")
    with pytest.raises(BadInput, match="idle_sessions"):
        from_dict({"name": "i", "dialect": "nt1", "idle_sessions": 5}, "t")
    cell = from_dict(d, "t").with_combination("nt1", "tcp")
    assert cell.name == "k[nt1-tcp]" and cell.from_matrix
    assert "drop kill needs SMB 2 or 3" in unsupported(cell)
    assert unsupported(from_dict(d, "t").with_combination("2.1", "tcp")) is None
    assert unsupported(from_dict({"name": "b", "drop": {"mode": "blackhole"}}, "t")
                       .with_combination("nt1", "nbt")) is None
    # a cell keeps its combination whatever --set says
    assert cell.with_overrides({"dialect": "3.0", "phases.fault_s": 2}).dialect == "nt1"


def test_the_hook_takes_checks_from_other_parts():
    @unsupported_check
    def no_tcp(scenario: Scenario):
        return "no tcp here" if scenario.transport == "tcp" else None

    try:
        assert unsupported(from_dict({"name": "x"}, "t").with_combination("3.0", "tcp")) == "no tcp here"
        with pytest.raises(BadInput, match="no tcp here"):
            from_dict({"name": "x", "transport": "tcp"}, "t")
    finally:
        UNSUPPORTED_CHECKS.remove(no_tcp)


def test_negotiated_from_the_history():
    events = [{"type": "run", "event": "start", "dialect": "smb3", "transport": "tcp"},
              {"type": "client", "name": "c1", "peer": "10.213.0.1:445", "dialect": "3.1.1", "transport": "tcp"},
              {"type": "client", "name": "victim", "peer": "10.213.0.1:445", "dialect": "3.1.1", "transport": "tcp"},
              {"type": "client", "name": "nbstat", "peer": None}]
    assert negotiated(events) == {"dialect": "3.1.1", "transport": "tcp", "port": 445, "clients": 2}
    assert negotiated(events[:1]) is None
    assert negotiated([{**e, "encrypted": True} if e.get("name") == "c1" else e
                       for e in events])["encrypted"] == 1
    mixed = events + [{"type": "client", "peer": "10.213.0.1:445", "dialect": "2.1", "transport": "tcp"}]
    assert negotiated(mixed)["mixed"] == ["2.1", "3.1.1"]
    # what the clients offered, from the start event's exact dialect (any: every SMB 2/3 one)
    asked = [{**events[0], "dialect": "any", "dialect_exact": "any"}, *events[1:]]
    assert negotiated(asked)["offered"] == ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"]
    asked[0]["dialect_exact"] = "3.1.1"
    assert negotiated(asked)["offered"] == ["3.1.1"]
    asked[0]["dialect_exact"] = "9.9"  # a name of another version: left out, no error
    assert "offered" not in negotiated(asked)


def test_cli_matrix_expansion():
    from harness.scenario.overrides import expand_matrix

    base = [from_dict({"name": "rst", "drop": {"mode": "rst"}}, "t")]
    cells = expand_matrix(base, None, None, True)
    assert [c.name for c in cells][:2] == ["rst[nt1-nbt]", "rst[nt1-tcp]"] and len(cells) == 8
    assert expand_matrix(base, None, None, False) == base
    with pytest.raises(BadInput, match="unknown dialect 'smb4'"):
        expand_matrix(base, "smb4", None, False)





def test_plugin_items_carry_the_combination(pytester, monkeypatch):
    d = pytester.mkdir("scenarios")
    (d / "rst.toml").write_text('name = "rst"\n[drop]\nmode = "rst"\n')
    (d / "kill.toml").write_text('name = "kill"\n[drop]\nmode = "kill"\n')
    result = pytester.runpytest_subprocess("scenarios", "--collect-only", "-q", "-p", "no:cacheprovider",
                                           "--nbt-dialect=nt1,3.1.1", "--nbt-transport=tcp")
    result.stdout.fnmatch_lines(["*kill.toml::kill[[]nt1-tcp[]]", "*kill.toml::kill[[]3.1.1-tcp[]]",
                                 "*rst.toml::rst[[]nt1-tcp[]]", "*rst.toml::rst[[]3.1.1-tcp[]]",
                                 "4 tests collected*"])
    monkeypatch.setenv("NBT_HARNESS_MATRIX", "1")
    result = pytester.runpytest_subprocess("scenarios", "--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["16 tests collected*"])
    result = pytester.runpytest_subprocess("scenarios", "--collect-only", "-q", "-p", "no:cacheprovider",
                                           "--nbt-transport=udp")
    result.stderr.fnmatch_lines(["*--nbt-transport: unknown transport 'udp'*"])
