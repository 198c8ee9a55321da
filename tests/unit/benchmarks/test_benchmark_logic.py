"""The benchmarks' pure parts: the machine check's parsers, the chaos plan and moments, the
loaded-machine diagnosis. Hand-written inputs only."""

from collections import Counter

from tests.benchmarks import interrupt_chaos as chaos
from tests.benchmarks import leftovers as m

STAT = "4242 (smbd: client [10) S 1 4240 4100 0 -1 4194560 2 0 0 0 0 0 0 0 20 0 1 0 9 0 0"


def test_proc_stat_survives_a_comm_with_spaces_and_parentheses():
    assert m.parse_proc_stat(STAT) == {"comm": "smbd: client [10", "state": "S", "ppid": 1,
                                       "pgid": 4240, "sid": 4100}


def test_a_process_is_the_runs_by_session_group_environment_or_command_line():
    stat = m.parse_proc_stat(STAT)
    env = b"PATH=/bin\0NBTH_CHAOS_MARK=abc\0"
    assert m.process_marks(stat, b"", "", 4100, None) == ["session 4100"]
    assert m.process_marks(stat, b"", "", 4240, None) == ["process group 4240"]
    assert m.process_marks(stat, env, "", 77, "NBTH_CHAOS_MARK=abc") == ["marked environment"]
    assert m.process_marks(stat, env, "", 77, "NBTH_CHAOS_MARK=ab") == []  # whole entries only
    cmd = m.cmdline_text(b"smbd\0-s\0/tmp/nbth-77-samba-x1/smb.conf\0")
    assert m.process_marks(stat, b"", cmd, 77, None) == ["command line names nbth-77-"]
    assert m.process_marks(stat, b"", cmd, 7, None) == []  # nbth-77- is not run 7's


def test_only_the_owners_tagged_rules_are_found():
    text = ("-P INPUT ACCEPT\n"
            '-A INPUT -s 10.213.0.11/32 -p tcp -m comment --comment "nbth-77-cut" -j DROP\n'
            "-A OUTPUT -p tcp -m comment --comment nbth-77-cut -j DROP\n"
            "-A OUTPUT -p tcp -m comment --comment nbth-771-cut -j DROP\n"
            "-A OUTPUT -p tcp -j DROP\n")
    assert m.tagged_rules(text, 77) == [
        '-A INPUT -s 10.213.0.11/32 -p tcp -m comment --comment "nbth-77-cut" -j DROP',
        "-A OUTPUT -p tcp -m comment --comment nbth-77-cut -j DROP"]


def test_netem_qdiscs_are_found_without_their_changing_refcount():
    text = ("qdisc noqueue 0: dev lo root refcnt 2\n"
            "qdisc netem 8001: dev eth0 root refcnt 2 limit 1000 delay 100ms  20ms loss 10%\n")
    lines = m.netem_qdiscs(text)
    assert lines == ["qdisc netem 8001: dev eth0 root limit 1000 delay 100ms  20ms loss 10%"]
    assert m.qdisc_dev(lines[0]) == "eth0"


def test_owned_names_need_the_exact_pid():
    assert m.owned_name("nbth-77-1-srv", 77)
    assert not m.owned_name("nbth-771-1-srv", 77) and not m.owned_name("xnbth-77-", 77)


def test_thirty_runs_cover_every_signal_at_every_moment_and_every_drop_at_its_drop():
    plans = chaos.make_plans(30, seed=5)
    assert len(plans) == 30 and [p.index for p in plans] == list(range(1, 31))
    pairs = Counter((p.signal, p.moment) for p in plans)
    assert set(pairs) == {(s, mo) for s in chaos.SIGNALS for mo in chaos.MOMENTS}
    assert {p.scenario for p in plans if p.moment in ("drop", "fault")} == set(chaos.SCENARIOS)
    assert {p.target for p in plans} == {"local", "replica"}
    assert chaos.make_plans(30, seed=5) == plans  # a seed replays the plan
    assert chaos.make_plans(30, seed=6) != plans
    assert len(chaos.make_plans(3, seed=5)) == 3


def test_a_signal_is_classified_by_the_moment_it_hit():
    spans = chaos.phase_spans()  # warmup 0-0.5, baseline -1.5, fault -3.5, recovery -4.5
    c = chaos.classify
    assert c(10.0, None, None, False, spans) == "start"
    assert c(10.0, 9.0, None, False, spans) == "setup"
    assert c(10.0, 9.0, 10.2, False, spans) == "setup"
    assert c(10.0, 9.0, 9.0, False, spans) == "baseline"
    assert c(10.6, 9.0, 9.0, False, spans) == "drop"
    assert c(11.0, 9.0, 9.0, False, spans) == "fault"
    assert c(13.0, 9.0, 9.0, False, spans) == "recovery"
    assert c(13.6, 9.0, 9.0, False, spans) == "teardown"
    assert c(13.6, 9.0, 9.0, True, spans) == "after exit"


def test_a_false_failure_is_split_into_machine_probe_wakeup_and_the_rest():
    from tests.benchmarks import loaded_machine as lm

    events = [
        {"t_s": -0.3, "type": "run", "event": "start",
         "phases": [["warmup", 0, 1], ["baseline", 1, 4], ["fault", 4, 8], ["recovery", 8, 11]]},
        # woke 150 ms late for its send time, then 10 ms to the answer
        {"t_s": 5.15, "type": "invoke", "process": "nbstat", "probe": "nbstat", "seq": 7,
         "phase": "fault", "intended_s": 5.0, "role": "healthy"},
        {"t_s": 5.16, "type": "ok", "process": "nbstat", "probe": "nbstat", "seq": 7,
         "latency_us": 160000.0, "role": "healthy"},
        # on time, never answered
        {"t_s": 6.0, "type": "invoke", "process": "nbstat", "probe": "nbstat", "seq": 9,
         "phase": "fault", "intended_s": 6.0, "role": "healthy"},
        {"t_s": 5.14, "type": "canary", "process": "canary", "late_us": 120000.0},
        {"t_s": 9.0, "type": "canary", "process": "canary", "late_us": 8000.0},
    ]
    ss = lm.samples(events, "nbstat", "fault")
    assert [(s["outcome"], s["sent_late_ms"], s["rest_ms"]) for s in ss] == [
        ("ok", 150.0, 10.0), ("stall", None, None)]
    assert lm.canary_in(events, 4, 8) == {"late_wakeups": 1, "worst_ms": 120.0,
                                          "over_stall_ms": 1, "total_late_ms": 120.0}
    entry = {"name": "rst", "verdict": "fail", "reason": "1 bound(s) violated",
             "host_stalls": {"count": 1, "worst_us": 120000},
             "probes": {"nbstat": {"fault": {"count": 2, "host_stall_corrected": 1}}},
             "violations": [{"probe": "nbstat", "phase": "fault", "stat": "max",
                             "observed_us": 160000.0, "limit_us": 150000}]}
    text = "\n".join(lm.diagnose(entry, events))
    assert "nbstat/fault max 160.0 ms > limit 150.0 ms (2 samples, 1 host-stall corrected)" in text
    assert "1 over 20 ms, worst 120.0 ms" in text
    assert "stall nbstat at 6.00s: no completion" in text
    assert "worst 160.0 ms (nbstat at 5.00s): sent 150.0 ms late, 10.0 ms after" in text
    assert lm.wakeups(events) == (150.0, 120.0)


def test_headroom_is_the_row_closest_to_its_bound():
    from tests.benchmarks import loaded_machine as lm

    entry = {"name": "rst",
             "bounds": {"default": {"p99_floor_ms": 100.0, "max_floor_ms": 250.0},
                        "per_probe": {"nbstat": {"max_floor_ms": 150.0, "future_key": 1}}},
             "probes": {
                 "nbstat": {"baseline": {"p99_us": 1000.0},
                            "fault": {"p99_us": 50000.0, "max_us": 120000.0},  # 0.8 of 150
                            "recovery": {"p99_us": 1000.0, "max_us": 2000.0}},
                 "smb_echo": {"baseline": {"p99_us": 30000.0},  # limits 150 / 300 ms
                              "fault": {"p99_us": 105000.0, "max_us": 200000.0}}}}
    ratio, where = lm.headroom(entry)
    assert round(ratio, 2) == 0.8 and where == "rst nbstat/fault max 120.0 of 150 ms"


def test_a_plan_can_aim_at_one_moment():
    plans = chaos.make_plans(6, seed=2, signals=("SIGINT", "SIGTERM"), moments=("setup",),
                             deliveries=("pid",))
    assert {(p.signal, p.moment, p.delivery) for p in plans} == {
        ("SIGINT", "setup", "pid"), ("SIGTERM", "setup", "pid")}


def test_lateness_comes_from_sent_s_when_the_probe_records_it():
    from tests.benchmarks.loaded_machine import wakeups

    events = [  # the invocation is written before the wait (t_s early), the send recorded
        {"type": "invoke", "process": "nbstat", "probe": "nbstat", "seq": 0, "t_s": 0.95,
         "intended_s": 1.0, "role": "healthy"},
        {"type": "ok", "process": "nbstat", "probe": "nbstat", "seq": 0, "t_s": 1.02,
         "sent_s": 1.004, "latency_us": 20000.0, "role": "healthy"},
    ]
    assert wakeups(events) == (4.0, 0.0)


def test_freeze_coverage_counts_the_start_times_a_freeze_meets_enough_processes():
    from tests.benchmarks.detection_power import freeze_coverage

    # two processes, one send each at 10.5 and 30.5 ms; service 1 ms, baseline max 2 ms
    sends = [("a", "p", 0.0105), ("b", "p", 0.0305)]
    svc, base = {"p": 0.001}, {"p": 0.002}
    # a 20 ms freeze at T makes a send at s an excursion (margin 5 ms) when
    # T - 1 ms <= s < T + 20 + 1 - 2 - 5 ms = T + 14 ms: T in (s - 14 ms, s + 1 ms]; on the
    # 1 ms grid of T in [0, 40) ms: 0..11 for a, 17..31 for b
    one = freeze_coverage(sends, svc, base, 0.020, 0.005, 0.0, 0.060, 1, step_s=0.001)
    both = freeze_coverage(sends, svc, base, 0.020, 0.005, 0.0, 0.060, 2, step_s=0.001)
    assert one == 27 / 40
    assert both == 0.0  # the two sends are 20 ms apart: no T meets both
    near = [("a", "p", 0.0105), ("b", "p", 0.0155)]  # both for T in 2..11
    assert freeze_coverage(near, svc, base, 0.020, 0.005, 0.0, 0.060, 2, step_s=0.001) == 10 / 40
    assert freeze_coverage(sends, svc, {}, 0.020, 0.005, 0.0, 0.060, 1) == 0.0  # no baseline: none
