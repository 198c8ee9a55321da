"""The seeded fault schedule and ``victims = N``: hand-written tables in, drops out; bad
input one line naming the key."""

import pytest

from harness.errors import BadInput
from harness.scenario.fault_schedule import (
    FaultSchedule,
    PlannedDrop,
    plan_drops,
    schedule_from_dict,
    schedule_problem,
)
from harness.scenario.model import from_dict

KNOWN = ("rst", "fin", "hang", "halfframe")
REPEATABLE = ("rst", "fin", "halfframe")
SEEDED = {"every_s": 1.2, "count": 6, "jitter_s": 0.3, "seed": 18, "modes": ["rst", "fin"]}


def test_without_a_schedule_each_victim_drops_once_at_the_fault_start():
    assert plan_drops(None, 3, 2.0, "rst") == (
        PlannedDrop(0, 2.0, 1, "rst"),
        PlannedDrop(1, 2.0, 2, "rst"),
        PlannedDrop(2, 2.0, 3, "rst"),
    )


def test_a_schedule_places_count_drops_every_s_apart_on_the_victims_in_turn():
    plan = plan_drops(FaultSchedule(every_s=1.5, count=4), 2, 2.0, "fin")
    assert [(p.index, p.at_s, p.victim, p.mode) for p in plan] == [
        (0, 2.0, 1, "fin"),
        (1, 3.5, 2, "fin"),
        (2, 5.0, 1, "fin"),
        (3, 6.5, 2, "fin"),
    ]


def test_the_same_seed_gives_the_same_drops_and_another_seed_others():
    sched = schedule_from_dict(SEEDED, KNOWN, REPEATABLE)
    one, two = plan_drops(sched, 2, 2.0, "rst"), plan_drops(sched, 2, 2.0, "rst")
    assert one == two and len(one) == 6
    for k, p in enumerate(one):  # each later than its slot by at most the jitter
        assert 2.0 + 1.2 * k <= p.at_s <= 2.0 + 1.2 * k + 0.3 and p.mode in ("rst", "fin")
    other = plan_drops(schedule_from_dict({**SEEDED, "seed": 19}, KNOWN, REPEATABLE), 2, 2.0, "rst")
    assert [p.at_s for p in other] != [p.at_s for p in one]


def test_listed_drops_are_used_as_they_are_whatever_the_seed():
    d = {**SEEDED, "drops": [{"at_s": 5.5, "victim": 2, "mode": "rst"}, {"at_s": 2.25, "victim": 1, "mode": "fin"}]}
    plan = plan_drops(schedule_from_dict(d, KNOWN, REPEATABLE), 2, 2.0, "rst")
    assert plan == (PlannedDrop(0, 2.25, 1, "fin"), PlannedDrop(1, 5.5, 2, "rst"))


def test_a_schedule_round_trips_through_its_dict_form():
    sched = schedule_from_dict({**SEEDED, "drops": [{"at_s": 2.5, "victim": 1, "mode": "rst"}]}, KNOWN, REPEATABLE)
    assert schedule_from_dict(sched.to_dict(), KNOWN, REPEATABLE) == sched


@pytest.mark.parametrize(
    "table, words",
    [
        ({"every": 1}, "unknown key(s) every"),
        ({"every_s": 0}, "every_s must be a number in (0, 3600]"),
        ({"count": 0}, "count must be an integer from 1 to 200"),
        ({"count": 2.5}, "count must be an integer"),
        ({"seed": -1}, "seed must be an integer"),
        ({"modes": "rst"}, "modes must be a list of drop modes"),
        ({"modes": ["moon"]}, "unknown drop mode 'moon'"),
        ({"modes": ["hang"]}, "drop hang cannot repeat"),
        ({"drops": [{"at_s": 1}]}, "drops[0] must be a table of at_s, victim and mode"),
        ({"drops": [{"at_s": 1, "victim": 0, "mode": "rst"}]}, "drops[0] victim must be an integer"),
    ],
)
def test_bad_tables_are_refused_in_one_line_naming_the_key(table, words):
    with pytest.raises(ValueError, match=None) as got:
        schedule_from_dict(table, KNOWN, REPEATABLE)
    assert words in str(got.value) and "\n" not in str(got.value)


def test_schedule_problems():
    assert schedule_problem(plan_drops(FaultSchedule(1.2, 6), 2, 2.0, "rst"), 2, 2.0, 10.0) is None
    # past the fault phase's end (less its evidence margin)
    assert "outside the fault phase" in schedule_problem(plan_drops(FaultSchedule(1.2, 8), 2, 2.0, "rst"), 2, 2.0, 10.0)
    # one victim's drops 0.8 s apart: no time to log on again
    assert "0.8 s apart" in schedule_problem(plan_drops(FaultSchedule(0.8, 4), 1, 2.0, "rst"), 1, 2.0, 10.0)
    # a victim with no drop at all
    assert "victim 3 has no drop" in schedule_problem(plan_drops(FaultSchedule(1.5, 2), 3, 2.0, "rst"), 3, 2.0, 10.0)
    assert "on victim 3" in schedule_problem((PlannedDrop(0, 2.0, 3, "rst"),), 2, 2.0, 10.0)


BASE = {"name": "x", "drop": {"mode": "rst"}, "phases": {"fault_s": 8.0}}


def test_the_scenario_reads_victims_and_schedule_and_writes_them_back():
    sc = from_dict({**BASE, "victims": 2, "schedule": SEEDED}, "test")
    assert sc.victims == 2 and sc.schedule.seed == 18 and sc.schedule.modes == ("rst", "fin")
    again = from_dict(sc.to_dict(), "again")
    assert again.victims == 2 and again.schedule == sc.schedule
    held = from_dict({**BASE, "victims": 2, "victim": {"holds": "batch_oplock"}}, "test")
    assert held.victims == 2 and held.victim.holds == "batch_oplock"  # each its own file
    plain = from_dict(BASE, "test")  # a scenario of one victim says nothing of either
    assert plain.victims == 1 and plain.schedule is None
    assert "victims" not in plain.to_dict() and "schedule" not in plain.to_dict()


@pytest.mark.parametrize(
    "extra, words",
    [
        ({"victims": 9}, "victims must be an integer from 1 to 8"),
        ({"victims": 2, "drop": None}, "victims and [schedule] need a [drop]"),
        ({"schedule": None, "drop": {"mode": "hang"}}, "drop hang cannot repeat"),
        ({"schedule": {**SEEDED, "count": 9}}, "outside the fault phase"),
        ({"schedule": {**SEEDED, "jitter": 1}}, "[schedule]: unknown key(s) jitter"),
        ({"dialect": "nt1"}, "drop fin needs SMB 2 or 3"),  # a schedule's mode, not [drop]'s
    ],
)
def test_bad_scenarios_are_refused_in_one_line(extra, words):
    with pytest.raises(BadInput) as got:
        from_dict({**BASE, "victims": 2, "schedule": SEEDED, **extra}, "f.toml")
    msg = str(got.value)
    assert msg.startswith("f.toml: ") and words in msg and "\n" not in msg, msg
