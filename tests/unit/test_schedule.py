import pytest

from harness.schedule import Phases, fixed_rate_times, merged_schedule, spread_staggers


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
    from harness.procs.pool import pool_schedule

    plan = pool_schedule(1.0, sessions=2, total_s=2.0, stagger=0.0, first_index=2, all_sessions=4)
    assert plan == [(0.5, 0), (0.75, 1), (1.5, 0), (1.75, 1)]


def _send_times_ms(rates, staggers, horizon_s=1.0):
    out = []
    for rate, stagger in zip(rates, staggers):
        out += [round(1000 * t, 3) for t, _, _ in merged_schedule({"p": rate}, horizon_s, stagger)]
    return sorted(out)


def test_spread_staggers_puts_two_equal_streams_half_a_period_apart():
    assert spread_staggers([4.0, 4.0]) == pytest.approx([0.0, 0.5])
    assert spread_staggers([10.0, 0.0, 10.0]) == pytest.approx([0.0, 0.0, 0.5])  # rate 0: nothing


def test_spread_staggers_keeps_the_default_run_s_sends_apart():
    # the default run's probers: nbstat 20 Hz, nbt_session 10 Hz, then 3 clients x (smb_echo
    # 10 Hz, smb_rw 4 Hz, smb_open 4 Hz): 84 sends a second. One stagger per client (the old
    # plan) sent a client's smb_rw and smb_open at the same instants.
    rates = [20.0, 10.0] + [10.0, 4.0, 4.0] * 3
    old = [0.5, 0.5] + [i / 3 for i in range(3) for _ in range(3)]
    old_times = _send_times_ms(rates, old)
    assert len(set(old_times)) < len(old_times)  # sends at one instant
    times = _send_times_ms(rates, spread_staggers(rates))
    assert len(times) == 84 and len(set(times)) == 84
    gaps = [b - a for a, b in zip(times, times[1:])] + [1000 - times[-1] + times[0]]
    assert min(gaps) >= 5.0, min(gaps)


def test_spread_staggers_avoids_streams_placed_elsewhere():
    (stagger,) = spread_staggers([10.0], fixed=((10.0, 0.0),))
    assert stagger == pytest.approx(0.5)


def test_spread_staggers_spreads_a_crowd_by_index():
    assert spread_staggers([1.0] * 256) == pytest.approx([i / 256 for i in range(256)])


def test_spread_staggers_keeps_one_group_s_streams_apart():
    # the default run: the probers above, then each client's shared prober (smb_lock, smb_list,
    # smb_stat, nb_query 2 Hz; smb_logon, smb_meta, rpc_shares 1 Hz), a group per client
    own = [20.0, 10.0] + [10.0, 4.0, 4.0] * 3
    shared = [2.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0]
    rates = own + shared * 3
    groups = [None] * len(own) + [i for i in range(3) for _ in shared]
    staggers = spread_staggers(rates, groups=groups, group_gap_s=0.04)
    for i in range(3):
        mine = [k for k, g in enumerate(groups) if g == i]
        times = _send_times_ms([rates[k] for k in mine], [staggers[k] for k in mine])
        gaps = [b - a for a, b in zip(times, times[1:])] + [1000 - times[-1] + times[0]]
        assert min(gaps) >= 40.0, (i, min(gaps))
    times = _send_times_ms(rates, staggers)
    assert len(times) == 84 + 11 * 3 and len(set(times)) == len(times)  # never one instant
    # without groups the same streams are spread evenly, and a group's sends come closer
    plain = spread_staggers(rates)
    mine = [k for k, g in enumerate(groups) if g == 0]
    times = _send_times_ms([rates[k] for k in mine], [plain[k] for k in mine])
    assert min(b - a for a, b in zip(times, times[1:])) < 40.0
