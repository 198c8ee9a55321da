"""Scenario model rules of the request classes."""

from harness.probes import PROBES
from harness.scenario.model import from_dict


def test_a_low_default_rate_rises_to_one_send_per_shortest_phase():
    # test_matrix's phases: a 0.5 s recovery, where a 1 Hz stream may send nothing
    sc = from_dict({"name": "x", "phases": {"baseline_s": 1.0, "fault_s": 1.0, "recovery_s": 0.5}}, "test")
    assert sc.rates_hz["smb_logon"] == sc.rates_hz["smb_meta"] == 2.0
    assert sc.rates_hz["smb_stat"] == 2.0 and sc.rates_hz["smb_echo"] == 10.0
    # the default phases keep the default rates, and a rate asked for is kept
    assert from_dict({"name": "x"}, "test").rates_hz["smb_logon"] == PROBES["smb_logon"].default_rate_hz
    sc = from_dict({"name": "x", "phases": {"recovery_s": 0.25}, "probes": {"smb_logon": 0.5}}, "test")
    assert sc.rates_hz["smb_logon"] == 0.5 and sc.rates_hz["smb_stat"] == 4.0
