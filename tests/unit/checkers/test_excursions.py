"""The excursion rule on hand-written probe tables."""

from harness.checkers import histograms
from harness.checkers.bounds import Bound, Bounds, check_bounds
from harness.checkers.excursions import allowed_excursions, count_above_us
from harness.stats import summarize_us


def row(latencies_us):
    return {**summarize_us(latencies_us, 0),
            "hdr": histograms.encode(histograms.of_latencies_us(latencies_us))}


BASE = [300.0 + (i % 7) * 50 for i in range(40)]  # 300..600 us, max 600 us
SHARP = Bounds(Bound(excursion_margin_ms=5.0))


def table(fault, recovery=None):
    return {"nbstat": {"baseline": row(BASE), "fault": row(fault), "recovery": row(recovery or BASE)}}


def test_a_single_20ms_sample_in_a_sub_ms_baseline_is_an_excursion():
    violations, problems = check_bounds(table(BASE + [20_600.0]), SHARP, ["nbstat"])
    assert problems == []
    [v] = violations
    assert v["stat"] == "excursions" and v["phase"] == "fault"
    assert (v["observed"], v["limit"]) == (1, 0)
    assert v["limit_us"] == 5600 and v["observed_us"] == 20600


def test_samples_within_baseline_max_plus_margin_are_not():
    violations, _ = check_bounds(table(BASE + [5_500.0, 5_000.0]), SHARP, ["nbstat"])
    assert violations == []


def test_off_by_default_the_old_floors_alone_judge():
    violations, _ = check_bounds(table(BASE + [20_600.0]), Bounds(), ["nbstat"])
    assert violations == []


def test_max_excursions_allows_a_few():
    bounds = Bounds(Bound(excursion_margin_ms=5.0, max_excursions=2))
    assert check_bounds(table(BASE + [20_000.0, 30_000.0]), bounds, ["nbstat"])[0] == []
    [v] = check_bounds(table(BASE + [20_000.0] * 3), bounds, ["nbstat"])[0]
    assert (v["observed"], v["limit"]) == (3, 2)


def test_a_phase_is_allowed_what_the_baseline_rate_predicts():
    assert allowed_excursions(120, 40, baseline_excursions=1, max_excursions=0) == 3
    assert allowed_excursions(40, 40, baseline_excursions=0, max_excursions=1) == 1
    assert allowed_excursions(40, 0, baseline_excursions=0, max_excursions=2) == 2


def test_a_noisy_baseline_excuses_as_many_excursions_in_the_judged_phase():
    noisy = BASE + [9_000.0, 12_000.0]  # 2 of 42 above p50 + 5 ms; max 12 ms
    t = {"nbstat": {"baseline": row(noisy), "fault": row(noisy + [18_000.0, 19_000.0] * 1),
                    "recovery": row(noisy)}}
    assert check_bounds(t, SHARP, ["nbstat"])[0] == []  # 2 excursions, 44 x 2 // 42 = 2 allowed


def test_count_above_counts_at_histogram_resolution():
    h = histograms.encode(histograms.of_latencies_us([100, 200, 10_000, 20_000]))
    assert count_above_us(h, 5_000) == 2
    assert count_above_us(h, 50_000) == 0


def test_recovery_is_judged_too():
    violations, _ = check_bounds(table(BASE, BASE + [25_000.0]), SHARP, ["nbstat"])
    assert [v["phase"] for v in violations] == ["recovery"]


def test_new_keys_are_validated():
    import pytest
    with pytest.raises(ValueError):
        Bound(max_excursions=1.5)
    with pytest.raises(ValueError):
        Bound(excursion_margin_ms=float("nan"))
