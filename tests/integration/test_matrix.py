"""The dialect x transport matrix on the embedded Samba: rst and blackhole in every cell
(nt1, 2.1, 3.0, 3.1.1 x NBT on 139, direct TCP on 445), each negotiating exactly the dialect
asked for and proving its drop from the server's side; the Q186873 replica fails the same
scenario over each transport (the broken control); a server the harness configured that
cannot give a combination makes it an error with the reason. One embedded Samba serves every
cell (the plugin's target pool keeps it); short phases keep the whole module near a minute."""

import itertools

import pytest

from harness.dialects import MATRIX_DIALECTS, TRANSPORTS
from harness.scenario.files import resolve

pytestmark = pytest.mark.integration

# Short phases: the drop at 1.3 s; blackhole's server gives up ~3.3 s after its cut (the
# embedded server's tcp_retries2 = 3), inside its fault phase plus the evidence wait.
SHORT = {"phases.warmup_s": 0.3, "phases.baseline_s": 1.0, "phases.fault_s": 1.0,
         "phases.recovery_s": 0.5, "healthy_clients": 2}
PHASES = {"rst": SHORT, "blackhole": {**SHORT, "phases.fault_s": 2.0}}
PORTS = {"nbt": 139, "tcp": 445}
CELLS = list(itertools.product(MATRIX_DIALECTS, TRANSPORTS))


def cell(name, dialect, transport):
    return resolve([name])[0].with_combination(dialect, transport)


@pytest.mark.parametrize("mode", ["rst", "blackhole"])
@pytest.mark.parametrize("dialect,transport", CELLS, ids=[f"{d}-{t}" for d, t in CELLS])
def test_drop_passes_in_every_cell(nbt_run, mode, dialect, transport):
    entry = nbt_run(cell(mode, dialect, transport), target="local", overrides=PHASES[mode])
    assert entry["name"] == f"{mode}[{dialect}-{transport}]"
    assert entry["verdict"] == "pass", entry["reason"] + str(entry["violations"])
    assert (entry["dialect"], entry["transport"]) == (dialect, transport)
    got = entry["negotiated"]
    assert (got["dialect"], got["transport"], got["port"]) == (dialect, transport, PORTS[transport]), got
    assert "encrypted" not in got  # signed, not encrypted: the server did not demand it
    assert entry["drop"]["evidence"], "the drop must be proven on the server's side"
    assert entry["drop"]["evidence"]["peer"].startswith("10.213.")


@pytest.mark.parametrize("dialect,transport", [("nt1", "nbt"), ("3.1.1", "tcp")])
def test_replica_fails_the_cell(nbt_run, dialect, transport):
    """The broken control over each transport: the replica relays 139 and 445 alike and
    freezes every session when the victim's is lost."""
    entry = nbt_run(cell("rst", dialect, transport), target="replica:any", overrides=SHORT)
    assert entry["verdict"] == "fail", entry["reason"]
    assert "smb_echo" in {v["probe"] for v in entry["violations"]}, entry["violations"]
    assert entry["negotiated"]["port"] == PORTS[transport]
    assert entry["drop"]["evidence"], "the drop itself must still be proven"


def test_a_combination_the_harness_own_server_lacks_is_an_error(tmp_path):
    """A Samba the harness configured to offer SMB 2.1 at most and only port 139: on a
    server the harness configures itself nothing is skipped for want of an offer, so 3.1.1
    is an error that says why (the server answered: remembered), and the closed 445 is an
    error too (a network error: asked again each time); what it offers runs."""
    from harness.errors import InfraError
    from harness.run.runner import run_scenario
    from harness.targets.local import LocalSamba

    with LocalSamba(extra_conf="    server max protocol = SMB2_10\n    smb ports = 139\n") as target:
        assert target.offers("2.1", "nbt") is None
        with pytest.raises(InfraError, match=r"does not offer SMB 3\.1\.1 over nbt"):
            target.offers("smb3", "nbt")
        with pytest.raises(InfraError, match=r"(?i)no answer to a NEGOTIATE.*refused"):
            target.offers("2.1", "tcp")
        result = run_scenario(cell("rst", "3.1.1", "nbt"), target, tmp_path / "rst")
        assert result["verdict"] == "error", result
        assert "does not offer SMB 3.1.1" in result["reason"]


def test_a_server_that_demands_encryption_gets_it(tmp_path):
    """Our clients encrypt SMB 3.x only when the server demands it (server smb encrypt =
    required): then every session is encrypted, and the run says so."""
    from harness.run.runner import run_scenario
    from harness.targets.local import LocalSamba

    with LocalSamba(extra_conf="    server smb encrypt = required\n") as target:
        scenario = cell("rst", "3.1.1", "tcp").with_overrides(SHORT)
        result = run_scenario(scenario, target, tmp_path / "rst")
    assert result["verdict"] == "pass", result["reason"]
    got = result["negotiated"]
    assert got["dialect"] == "3.1.1" and got["encrypted"] == got["clients"] > 0, got
