"""A failing run of several drops leaves reproducer.toml: the scenario with its seed and the
exact drop times; loaded again, it plans the very same drops."""

from harness.results import ScenarioResult
from harness.run.reproducer import REPRODUCER, write
from harness.scenario.fault_schedule import plan_drops
from harness.scenario.files import load_file
from harness.scenario.model import from_dict

SEEDED = {"name": "two", "victims": 2, "drop": {"mode": "rst"}, "phases": {"fault_s": 8.0},
          "schedule": {"every_s": 1.2, "count": 6, "jitter_s": 0.3, "seed": 18, "modes": ["rst", "fin"]}}


def planned(sc):
    return plan_drops(sc.schedule, sc.victims, sc.phases.fault_start_s, sc.drop.mode)


def test_a_failing_run_leaves_the_exact_drops_and_replays_them(tmp_path):
    sc = from_dict(SEEDED, "test").with_overrides({"phases.recovery_s": "2"})
    path = write(tmp_path, sc, ScenarioResult(name="two", verdict="fail", reason="3 bound(s) violated"))
    assert path == tmp_path / REPRODUCER
    assert "# Reproducer of two: 3 bound(s) violated" in path.read_text()
    again = load_file(path)
    assert planned(again) == planned(sc)
    assert [d.at_s for d in again.schedule.drops] == [p.at_s for p in planned(sc)]
    assert again.schedule.seed == 18 and again.phases.recovery_s == 2.0 and again.name == "two"


def test_several_victims_without_a_schedule_write_their_drops_too(tmp_path):
    sc = from_dict({**SEEDED, "schedule": None}, "test")
    again = load_file(write(tmp_path, sc, ScenarioResult(name="two", verdict="fail")))
    assert planned(again) == planned(sc) and len(planned(sc)) == 2


def test_no_reproducer_for_a_pass_or_a_run_of_one_drop(tmp_path):
    sc = from_dict(SEEDED, "test")
    assert write(tmp_path, sc, ScenarioResult(name="two", verdict="pass")) is None
    one = from_dict({"name": "one", "drop": {"mode": "rst"}}, "test")
    assert write(tmp_path, one, ScenarioResult(name="one", verdict="fail")) is None
    assert not (tmp_path / REPRODUCER).exists()
