"""The crowd's checker, on hand-written worker reports: rows merged exactly across workers,
its own bounds, lost workers and a missing result as errors."""

from harness.checkers import histograms
from harness.checkers.crowd import check_crowd, crowd_rows, judge, lost_lines
from harness.results import ScenarioResult
from harness.scenario.crowd import crowd_from_dict

SPEC = crowd_from_dict({"users": 200, "workers": 2, "p99_floor_ms": 100, "p99_factor": 5})


def cell(latencies_us, errors=0, top_error=None):
    return {
        "count": len(latencies_us) + errors,
        "errors": errors,
        "hdr": histograms.encode(histograms.of_latencies_us(latencies_us)) if latencies_us else None,
        "top_error": top_error,
    }


def healthy_reports(fault_us=5_000, fault_errors=0):
    """Two workers, 150 operations per phase each (echo and read), 5 ms baseline."""
    def worker(k):
        return {
            phase: {
                "echo": cell([(fault_us if phase == "fault" else 5_000) + k] * 100,
                             errors=fault_errors if phase == "fault" else 0,
                             top_error=f"{fault_errors} x timed out" if fault_errors and phase == "fault" else None),
                "read": cell([4_000 + k] * 50),
            }
            for phase in ("warmup", "baseline", "fault", "recovery")
        }
    return {"crowd1": worker(0), "crowd2": worker(1)}


def test_rows_merge_every_worker_and_operation():
    rows = crowd_rows(healthy_reports())
    base = rows["baseline"]
    assert (base["count"], base["errors"], base["workers"]) == (300, 0, 2)
    assert base["ops"] == {"echo": 200, "read": 100}
    assert base["p99_basis"] == "p99"
    assert 4_990 <= base["p50_us"] <= 5_010 and 4_990 <= base["p99_us"] <= 5_010
    assert histograms.decode(base["hdr"]).get_total_count() == 300


def test_a_healthy_crowd_breaks_no_bound():
    assert check_crowd(crowd_rows(healthy_reports()), SPEC) == ([], [])


def test_a_stalled_crowd_breaks_its_p99_and_error_bounds():
    rows = crowd_rows(healthy_reports(fault_us=2_000_000, fault_errors=7))
    violations, problems = check_crowd(rows, SPEC)
    assert problems == []
    assert [(v["phase"], v["stat"]) for v in violations] == [("fault", "errors"), ("fault", "p99")]
    assert violations[0]["observed"] == 14 and violations[0]["limit"] == 0
    assert violations[1]["limit_us"] == 100_000 and violations[1]["observed_us"] > 1_900_000
    assert rows["fault"]["top_error"] == "14 x timed out"


def test_few_samples_hold_the_max_to_the_p99_limit():
    reports = {"w": {"baseline": {"echo": cell([5_000] * 10)}, "fault": {"echo": cell([5_000] * 9 + [900_000])},
                     "recovery": {"echo": cell([5_000] * 10)}}}
    violations, _ = check_crowd(crowd_rows(reports), SPEC)
    assert [(v["phase"], v["stat"], v.get("basis")) for v in violations] == [("fault", "p99", "max")]


def test_no_baseline_or_no_judged_operations_are_problems():
    assert check_crowd({}, SPEC) == ([], ["crowd: no successful baseline operations"])
    reports = {"w": {"baseline": {"echo": cell([5_000] * 10)}}}
    _, problems = check_crowd(crowd_rows(reports), SPEC)
    assert problems == ["crowd: no operations in phase fault", "crowd: no operations in phase recovery"]


def passed():
    return ScenarioResult(name="rst", verdict="pass", reason="all bounds held")


def event(reports, lost=()):
    return {"type": "crowd", "event": "result", "workers": sorted(reports), "reports": reports,
            "lost": list(lost), "users": 200, "spawned": 200}


def test_judge_keeps_a_pass_and_adds_the_rows():
    result = judge(passed(), [event(healthy_reports())], SPEC)
    assert result.verdict == "pass"
    crowd = result.to_json()["crowd"]
    assert set(crowd["rows"]) == {"warmup", "baseline", "fault", "recovery"}
    assert crowd["workers"] == ["crowd1", "crowd2"] and crowd["lost"] == []


def test_judge_fails_a_pass_on_a_crowd_bound():
    result = judge(passed(), [event(healthy_reports(fault_us=2_000_000))], SPEC)
    assert result.verdict == "fail"
    assert result.reason == "1 crowd bound(s) violated: crowd/fault p99"
    assert [v.probe for v in result.violations] == ["crowd"]


def test_a_lost_worker_is_an_error_naming_it():
    lost = [{"worker": "crowd2", "at_s": 3.21, "phase": "fault", "why": "no heartbeat from it"}]
    result = judge(passed(), [event(healthy_reports(), lost)], SPEC)
    assert result.verdict == "error"
    assert "crowd worker crowd2 lost, last heard at 3.2 s (fault): no heartbeat from it" in result.reason
    # as in the verdict's order, a run that broke is an error even where a bound failed;
    # the reason says both
    failed = passed().with_(verdict="fail", reason="1 bound(s) violated: nbstat/fault p99")
    result = judge(failed, [event(healthy_reports(), lost)], SPEC)
    assert result.verdict == "error" and "crowd worker crowd2 lost" in result.reason
    assert "nbstat/fault p99" in result.reason


def test_no_result_from_the_master_is_an_error_and_no_crowd_changes_nothing():
    result = judge(passed(), [], SPEC)
    assert result.verdict == "error" and "no figures from the crowd's master" in result.reason
    assert judge(passed(), [], None) == passed()
    skipped = ScenarioResult.skipped("rst", "why")
    assert judge(skipped, [], SPEC) == skipped


def test_lost_lines():
    assert lost_lines([{"worker": "w1"}]) == ["crowd worker w1 lost: no report"]
