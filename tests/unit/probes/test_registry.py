"""The probe registry is the one list of probes: scenarios, the worker and targets read it."""

from dataclasses import replace

from harness.probes import PROBES, ProbeContext, ProbeKind, off_without_reason
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


def test_every_registered_probe_is_on_by_default_or_says_why_not():
    # the default run exercises every registered request class in every phase: a probe whose
    # default rate is 0 states its reason in the registry
    assert off_without_reason(PROBES.values()) == []
    stale = [name for name, kind in PROBES.items()
             if kind.default_rate_hz > 0 and kind.off_by_default_reason]
    assert stale == [], f"on by default, yet with a reason to be off: {stale}"
    assert PROBES["smb_contend"].off_by_default_reason  # it needs a holding
    assert DEFAULT_RATES_HZ["smb_lock"] > 0


def test_the_rule_catches_a_probe_off_by_default_without_a_reason():
    kind = ProbeKind("quiet", 0.0, True, None, "x:Y")
    assert off_without_reason([kind]) == ["quiet"]
    assert off_without_reason([replace(kind, off_by_default_reason="  ")]) == ["quiet"]
    assert off_without_reason([replace(kind, off_by_default_reason="needs a holding")]) == []
    assert off_without_reason([replace(kind, default_rate_hz=1.0)]) == []


def test_the_new_request_classes_share_one_process_per_client():
    shared = {n for n, k in PROBES.items() if k.shared}
    assert shared == {"smb_lock", "smb_logon", "smb_list", "smb_stat", "smb_meta", "rpc_shares",
                      "nb_query"}
    # a crowd (more clients than processes allowed) goes without them at their default rates
    assert all(PROBES[n].off_in_crowds for n in shared)
    crowd = from_dict({"name": "x", "healthy_clients": 64, "sessions_per_process": 32,
                       "probes": {"smb_rw": 0, "smb_open": 0}}, "test")
    assert not set(crowd.probes) & shared
