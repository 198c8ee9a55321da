import pytest

from harness.errors import BadInput
from harness.scenario.files import default_dir, load_file, resolve, scenario_files


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_every_shipped_scenario_loads():
    files = scenario_files(default_dir())
    names = {p.stem for p in files}
    assert {"baseline", "rst", "fin", "kill", "halfframe", "stall", "blackhole", "netem", "partition"} <= names
    for p in files:
        sc = load_file(p)
        assert sc.name == p.stem
        assert (sc.drop is None) == (sc.name == "baseline")
        assert sc.drop is None or sc.drop.mode == sc.name


def test_toml_scenario_full(tmp_path):
    sc = load_file(write(tmp_path, """
name = "x"
healthy_clients = 2
[drop]
mode = "halfframe"
params = { frame_bytes = 100, sent_bytes = 10 }
[phases]
fault_s = 2
[probes]
nbt_session = 0
[bounds]
p99_floor_ms = 20
[bounds.per_probe.nbstat]
max_floor_ms = 5
"""))
    assert sc.healthy_clients == 2 and sc.drop.mode == "halfframe"
    assert sc.phases.fault_s == 2 and sc.probes == ["nbstat", "smb_echo", "smb_rw", "smb_open", "smb_lock",
                                                    "smb_logon", "smb_list", "smb_stat", "smb_meta",
                                                    "rpc_shares", "nb_query"]
    assert sc.bounds.default.p99_floor_ms == 20
    assert sc.bounds.for_probe("nbstat").max_floor_ms == 5
    assert sc.bounds.for_probe("nbstat").p99_floor_ms == 20  # inherits the default


@pytest.mark.parametrize("text, message", [
    ("name = ", "not valid TOML"),
    ("description = 'no name'", "'name'"),
    ("name='x'\nbogus=1", "unknown key(s): bogus"),
    ("name='x'\n[drop]\nmode='nuke'", "unknown drop mode 'nuke'"),
    ("name='x'\n[drop]\nmode='halfframe'\nparams={sent_bytes=9000}", "sent_bytes"),
    ("name='x'\n[probes]\nping=3", "unknown probe 'ping'"),
    ("name='x'\n[probes]\nnbstat=-1", "rate must be"),
    ("name='x'\n[phases]\nfault_s=-2", "fault_s"),
    ("name='x'\n[phases]\nlength=2", "[phases] takes"),
    ("name='x'\nhealthy_clients=0", "healthy_clients"),
    ("name='x'\nhealthy_clients=2\nhealthy_hosts=3", "healthy_hosts"),
    ("name='x'\nhealthy_hosts=0", "healthy_hosts"),
    ("name='x'\n[bounds]\np99_floor_ms='high'", "p99_floor_ms"),
    ("name='x'\n[bounds]\nmedian=3", "unknown bound key"),
])
def test_broken_files_give_one_line_with_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(BadInput) as exc:
        load_file(path)
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_python_scenario(tmp_path):
    path = write(tmp_path, "from harness.scenario import Scenario, DropSpec\n"
                           "SCENARIO = Scenario(name='py', drop=DropSpec('rst'), healthy_clients=1)\n",
                 name="py.py")
    sc = load_file(path)
    assert sc.name == "py" and sc.drop.mode == "rst" and sc.healthy_clients == 1


@pytest.mark.parametrize("body, message", [
    ("raise RuntimeError('boom')", "failed to load: RuntimeError: boom"),
    ("X = 1", "must define SCENARIO"),
    ("SCENARIO = {'name': 'd', 'drop': {'mode': 'zap'}}", "unknown drop mode"),
])
def test_broken_python_scenarios(tmp_path, body, message):
    with pytest.raises(BadInput, match=message):
        load_file(write(tmp_path, body, name="bad.py"))


def test_overrides_are_validated_like_files():
    sc = resolve(["rst"])[0]
    assert sc.with_overrides({"phases.fault_s": "2", "healthy_clients": "1"}).phases.fault_s == 2
    with pytest.raises(BadInput, match="healthy_clients"):
        sc.with_overrides({"healthy_clients": "many"})
    with pytest.raises(BadInput, match="unknown key"):
        sc.with_overrides({"nonsense": "1"})


def test_unknown_scenario_name_lists_known():
    with pytest.raises(BadInput, match="known: .*rst"):
        resolve(["nope"])
