"""compare: KS over histogram buckets, effect size, verdicts, on hand-written distributions."""

import math
import random

import pytest

from harness.checkers import histograms
from harness.checkers.compare import (
    IMPROVED,
    REGRESSED,
    UNCHANGED,
    Thresholds,
    buckets_of,
    compare_reports,
    compare_rows,
    ks_one_sided,
    quantile,
)
from harness.report.compare import render_compare
from harness.results import Report
from harness.stats import summarize_us


def b(values):
    return buckets_of(histograms.encode(histograms.of_latencies_us(values)))


def test_buckets_carry_errors_as_the_slowest_outcome():
    dist = buckets_of(histograms.encode(histograms.of_latencies_us([100, 100, 200])), errors=2)
    assert dist == [(100, 2), (200, 1), (histograms.HIGHEST_US, 2)]


def test_quantile_nearest_rank():
    dist = [(100, 50), (200, 49), (900, 1)]
    assert quantile(dist, 0.5) == 100
    assert quantile(dist, 0.51) == 200
    assert quantile(dist, 0.99) == 200
    assert quantile(dist, 1.0) == 900
    assert quantile([], 0.5) is None


def test_ks_statistic_and_p_value_by_hand():
    base = [(100, 10)]
    new = [(100, 5), (5000, 5)]  # half of the new samples moved up
    ks = ks_one_sided(base, new)
    assert ks["slower"]["d"] == pytest.approx(0.5) and ks["slower"]["at_us"] == 100
    # n_e = 10*10/20 = 5; p = exp(-2 * 5 * 0.25)
    assert ks["slower"]["p_value"] == pytest.approx(math.exp(-2.5))
    assert ks["faster"]["d"] == 0 and ks["faster"]["p_value"] == 1.0


def test_identical_distributions_are_unchanged():
    r = compare_rows(b([1000] * 60), b([1000] * 60))
    assert r["verdict"] == UNCHANGED and r["d"] == 0


def test_a_stall_of_a_third_of_the_phase_regresses_though_the_median_holds():
    base = [800 + 10 * (i % 7) for i in range(60)]
    new = [800 + 10 * (i % 7) for i in range(40)] + [50_000 * (k + 1) for k in range(20)]
    assert summarize_us(new, 0)["p50_us"] < 2 * summarize_us(base, 0)["p50_us"]  # median held
    r = compare_rows(b(base), b(new))
    assert r["verdict"] == REGRESSED
    assert r["ratio"] > 10 and r["p_value"] < 0.01


def test_a_small_significant_shift_is_not_a_regression():
    base = [1000 + i for i in range(200)]
    new = [1300 + i for i in range(200)]  # +30 %: certainly significant, not big
    r = compare_rows(b(base), b(new))
    assert r["p_value"] < 1e-6 and r["verdict"] == UNCHANGED
    # the same shift is a regression for a stricter reader
    assert compare_rows(b(base), b(new), Thresholds(min_ratio=1.2, min_delta_us=100))["verdict"] == REGRESSED


def test_a_large_shift_of_sub_millisecond_values_needs_min_delta():
    r = compare_rows(b([100] * 100), b([300] * 100))  # 3x, but only 0.2 ms
    assert r["verdict"] == UNCHANGED
    assert compare_rows(b([100] * 100), b([300] * 100), Thresholds(min_delta_us=100))["verdict"] == REGRESSED


def test_one_outlier_is_not_significant():
    rng = random.Random(7)
    base = [rng.uniform(900, 1100) for _ in range(60)]
    new = [rng.uniform(900, 1100) for _ in range(59)] + [900_000]
    assert compare_rows(b(base), b(new))["verdict"] == UNCHANGED


def test_timeouts_regress_even_when_successes_look_the_same():
    base = buckets_of(histograms.encode(histograms.of_latencies_us([1000] * 40)))
    new = buckets_of(histograms.encode(histograms.of_latencies_us([1000] * 25)), errors=15)
    assert compare_rows(base, new)["verdict"] == REGRESSED


def test_faster_is_improved():
    r = compare_rows(b([50_000] * 50), b([2_000] * 50))
    assert r["verdict"] == IMPROVED and r["ratio"] == pytest.approx(0.04, rel=0.01)


def test_noise_between_two_samples_of_one_distribution_stays_unchanged():
    rng = random.Random(1)
    unchanged = 0
    for _ in range(50):
        draw = lambda: [rng.lognormvariate(math.log(1000), 0.5) for _ in range(60)]
        unchanged += compare_rows(b(draw()), b(draw()))["verdict"] == UNCHANGED
    assert unchanged == 50


@pytest.mark.parametrize("kw", [{"alpha": 0}, {"alpha": 1}, {"min_ratio": 0.5}, {"min_delta_us": -1}])
def test_bad_thresholds(kw):
    with pytest.raises(ValueError):
        Thresholds(**kw)


def _doc(name, rows):
    return {"version": 1, "target": "t", "scenarios": [{"name": name, "verdict": "pass", "probes": {"smb_echo": {
        phase: {**summarize_us(v, 0), "hdr": histograms.encode(histograms.of_latencies_us(v))}
        for phase, v in rows.items()}}}]}


def test_compare_reports_rows_and_table():
    base = _doc("rst", {"baseline": [1000] * 60, "fault": [1000] * 60})
    new = _doc("rst", {"baseline": [1000] * 60, "fault": [1000] * 30 + [400_000] * 30})
    result = compare_reports(Report.from_json(base), Report.from_json(new))
    verdicts = {(r["phase"]): r["verdict"] for r in result["rows"]}
    assert verdicts == {"baseline": UNCHANGED, "fault": REGRESSED}
    assert result["summary"] == {"regressed": 1, "improved": 0, "unchanged": 1}
    new["scenarios"][0]["host_stalls"] = {"count": 2, "worst_us": 52_000}
    text = render_compare(compare_reports(Report.from_json(base), Report.from_json(new)), "a", "b")
    assert "machine stalls in rst: base 0 (worst - ms), new 2 (worst 52.00 ms)" in text
    assert "REGRESSED" in text and "max*" in text
    fault = next(line for line in text.splitlines() if " fault " in line)
    assert "1.00>400.00" in fault.replace(" ", "")


def test_compare_reports_needs_a_common_scenario_and_histograms():
    with pytest.raises(ValueError, match="no scenario in common"):
        compare_reports(Report.from_json(_doc("rst", {"fault": [1]})),
                        Report.from_json(_doc("fin", {"fault": [1]})))
    broken = _doc("rst", {"fault": [1]})
    del broken["scenarios"][0]["probes"]["smb_echo"]["fault"]["hdr"]
    with pytest.raises(ValueError, match="no latency histogram"):
        compare_reports(Report.from_json(broken), Report.from_json(_doc("rst", {"fault": [1]})))


def test_a_body_shift_does_not_lend_its_significance_to_tail_noise():
    # machine load: every operation 2 ms slower (significant, small), plus one tail
    # sample 30 ms slower: neither is a regression at the defaults
    base = [1000 + 10 * i for i in range(60)]
    new = [3000 + 10 * i for i in range(59)] + [40_000]
    assert ks_one_sided(b(base), b(new))["slower"]["p_value"] < 1e-9
    assert compare_rows(b(base), b(new))["verdict"] == UNCHANGED


def test_histogram_buckets_match_the_library_iterator():
    h = histograms.of_latencies_us([1, 100, 100, 1234, 99_999, 5_000_000, 60_000_000])
    expected = [(it.value_iterated_to, it.count_at_value_iterated_to)
                for it in h.get_recorded_iterator()]
    assert histograms.buckets(h) == expected


def _docs_for_lead():
    """base and new of two scenarios: rst regressed by a stall, smb_rw's body 1.43x slower
    (significant, far under 2x and 25 ms), a holding that now waits for its file."""
    base = _doc("rst", {"baseline": [1000] * 60, "fault": [1000] * 60})
    new = _doc("rst", {"baseline": [1000] * 60, "fault": [1000] * 30 + [400_000] * 30})
    rw_base, rw_new = [2000 + 10 * i for i in range(200)], [2860 + 14 * i for i in range(200)]
    for doc, values, verdict, tta in ((base, rw_base, "pass", 0.2), (new, rw_new, "fail", None)):
        doc["scenarios"].append({
            "name": "smb_rw", "verdict": verdict, "probes": {"smb_rw": {
                "fault": {**summarize_us(values, 0),
                          "hdr": histograms.encode(histograms.of_latencies_us(values))}}},
            "access": {"holds": "batch_oplock", "probe": "smb_contend", "attempts": 9,
                       "time_to_access_s": tta, "max_wait_s": 5.0, "statuses": []}})
    return Report.from_json(base), Report.from_json(new)


def test_moved_lists_regressions_first_then_significant_shifts_under_the_thresholds():
    result = compare_reports(*_docs_for_lead())
    moved = [(m["scenario"], m["phase"], m["verdict"], m["significant_only"]) for m in result["moved"]]
    assert moved == [("rst", "fault", REGRESSED, False), ("smb_rw", "fault", UNCHANGED, True)]
    rw = result["moved"][1]
    assert rw["direction"] == "slower" and 1.3 < rw["ratio"] < 1.6 and rw["p_value"] < 1e-6
    # the unchanged rows whose distributions did not part are not listed
    assert all(m["p_value"] < 0.01 for m in result["moved"])


def test_verdicts_and_times_to_access_side_by_side():
    result = compare_reports(*_docs_for_lead())
    assert result["verdicts"] == [{"scenario": "rst", "base": "pass", "new": "pass"},
                                  {"scenario": "smb_rw", "base": "pass", "new": "fail"}]
    assert result["access"] == [{"scenario": "smb_rw", "holds": "batch_oplock", "base_s": 0.2,
                                 "new_s": None, "max_wait_s": 5.0, "base_never": False,
                                 "new_never": True}]


def test_compare_text_leads_with_what_moved_and_keeps_its_table_lines():
    base, new = _docs_for_lead()
    text = render_compare(compare_reports(base, new), "a", "b").splitlines()
    assert text[:2] == ["compare  base: a", "         new:  b"]
    assert text[2].startswith("moved (2:")
    assert text[3].startswith("   rst smb_echo fault:") and text[3].endswith("REGRESSED")
    assert text[4].startswith("   smb_rw smb_rw fault: 1.") and "x slower at p" in text[4]
    assert text[4].endswith("significant, under the thresholds")
    changed = next(line for line in text if line.startswith("verdicts"))
    assert "1 changed" in changed
    assert any("smb_rw" in line and "pass > fail" in line and "CHANGED" in line for line in text)
    access = text.index("time to access (s after the drop; never: not within the run):")
    assert "holds batch_oplock:   0.200 > never" in text[access + 1]
    header = next(i for i, line in enumerate(text) if line.lstrip().startswith("scenario   probe"))
    assert header > access  # the full table follows, its lines as before
    assert any(line.startswith("   1 regressed, 0 improved, 2 unchanged") for line in text)


def test_nothing_moved_says_so():
    doc = Report.from_json(_doc("rst", {"fault": [1000] * 60}))
    text = render_compare(compare_reports(doc, doc), "a", "b")
    assert "moved: nothing" in text and "verdicts (base > new; 0 changed):" in text
    assert "time to access" not in text
