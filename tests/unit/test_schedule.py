import pytest

from harness.schedule import Phases, fixed_rate_times, merged_schedule


def test_phase_spans_are_back_to_back():
    p = Phases(1, 2, 3, 4)
    assert p.spans() == [("warmup", 0, 1), ("baseline", 1, 3), ("fault", 3, 6), ("recovery", 6, 10)]
    assert p.total_s == 10 and p.fault_start_s == 3
    assert [p.phase_at(t) for t in (0, 0.99, 1, 2.99, 3, 5.99, 6, 9.99)] == [
        "warmup", "warmup", "baseline", "baseline", "fault", "fault", "recovery", "recovery"]


@pytest.mark.parametrize("bad", [dict(fault_s=-1), dict(baseline_s=0), dict(warmup_s="x")])
def test_phases_validate(bad):
    with pytest.raises(ValueError):
        Phases(**bad)


def test_fixed_rate_is_open_loop_and_exact():
    assert fixed_rate_times(4, 0, 1) == [0, 0.25, 0.5, 0.75]
    assert fixed_rate_times(4, 0, 1, offset_s=0.1) == pytest.approx([0.1, 0.35, 0.6, 0.85])
    assert fixed_rate_times(0, 0, 1) == []


def test_merged_schedule_orders_streams_and_numbers_each():
    events = merged_schedule({"a": 2, "b": 1}, 1.0)
    assert events == [(0.0, "a", 0), (0.0, "b", 0), (0.5, "a", 1)]


def test_stagger_shifts_by_fraction_of_period():
    assert [t for t, _, _ in merged_schedule({"a": 10}, 0.3, stagger=0.5)] == pytest.approx([0.05, 0.15, 0.25])



def test_pool_schedule_gives_each_session_its_own_stream_spread_over_all_pools():
    from harness.pool import pool_schedule

    plan = pool_schedule(1.0, sessions=2, total_s=2.0, stagger=0.0, first_index=2, all_sessions=4)
    assert plan == [(0.5, 0), (0.75, 1), (1.5, 0), (1.75, 1)]
