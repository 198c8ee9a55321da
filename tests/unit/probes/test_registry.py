"""The probe registry is the one list of probes: scenarios, the worker and targets read it."""

from harness.probes import PROBES, ProbeContext
from harness.scenario.model import DEFAULT_RATES_HZ, SESSION_PROBES, from_dict
from harness.server import Endpoint


def test_every_registered_probe_loads_and_builds_from_a_context():
    ep = Endpoint("10.213.0.1", "NBTHSRV", "share", "root", "pw")
    for name, kind in PROBES.items():
        cls = kind.load()
        assert cls.name == name
        if not kind.needs_session:
            probe = cls.from_context(ProbeContext(ep, "c1", 1.0))
            assert hasattr(probe, "invoke") and hasattr(probe, "open") and hasattr(probe, "close")


def test_scenarios_take_names_rates_and_session_needs_from_the_registry():
    assert set(DEFAULT_RATES_HZ) == set(PROBES)
    assert set(SESSION_PROBES) == {n for n, k in PROBES.items() if k.needs_session}
    holding = {"victim": {"holds": "batch_oplock"}}  # smb_contend needs one
    sc = from_dict({"name": "x", "probes": {name: 1 for name in PROBES}, **holding}, "test")
    assert sc.probes == list(PROBES)
