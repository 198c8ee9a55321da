"""The plan of a run of several drops, on hand-written scenarios and a hand-written target
description: one Drop object per drop (its params where its mode is the [drop] mode), one
victim process per victim with its drops in time order."""

from harness.run.repeated import plan, victims
from harness.scenario.model import from_dict
from tests.unit.run.test_plan import EVENTS, Described

BASE = {"name": "s", "drop": {"mode": "halfframe", "params": {"frame_bytes": 800, "sent_bytes": 10}},
        "phases": {"fault_s": 8.0}}


def test_one_victim_and_one_drop_is_left_to_the_single_drop_path():
    assert plan(from_dict(BASE, "test"), 1) is None
    assert victims(from_dict(BASE, "test"), Described(), EVENTS, None) == []


def test_each_drop_its_own_object_and_each_victim_its_own_drops():
    sc = from_dict({**BASE, "victims": 2, "victim": {"holds": "batch_oplock"},
                    "schedule": {"every_s": 1.5, "count": 4, "modes": ["halfframe", "rst"], "seed": 5}}, "test")
    faults = plan(sc, 77)
    assert len(faults) == 4 and len({id(f.drop) for f in faults}) == 4
    assert all(f.drop.owner_pid == 77 and f.drop.mode == f.planned.mode for f in faults)
    for f in faults:  # [drop.params] are the [drop] mode's alone
        if f.drop.mode == "halfframe":
            assert (f.drop.frame_bytes, f.drop.sent_bytes) == (800, 10)
    specs = victims(sc, Described(), EVENTS, faults)
    assert [(s.name, s.role, s.netns, s.victim_number) for s in specs] == [
        ("victim", "victim", "ns-victim", 1), ("victim2", "victim", "ns-victim", 2)]
    for v, spec in enumerate(specs, 1):
        mine = [f for f in faults if f.planned.victim == v]
        assert [p.index for p, _ in spec.scheduled] == [f.planned.index for f in mine] == [v - 1, v + 1]
        assert spec.drop is mine[0].drop and spec.victim_spec.holds == "batch_oplock"
        assert spec.events_path.endswith(f"events-{spec.name}.jsonl")


def test_several_victims_without_a_schedule_drop_at_once():
    faults = plan(from_dict({**BASE, "victims": 3}, "test"), 1)
    assert [(f.planned.at_s, f.planned.victim) for f in faults] == [(2.0, 1), (2.0, 2), (2.0, 3)]
