"""Progress lines, counted from event files in the runner's process. Hand-written data only."""

from __future__ import annotations

import io

from harness.run.progress import Progress, State, count_completions, phase_of, progress_line

SPANS = [("warmup", 0.0, 1.0), ("baseline", 1.0, 4.0), ("fault", 4.0, 8.0), ("recovery", 8.0, 11.0)]


def test_count_completions_counts_ok_fail_info_not_invokes():
    chunk = (b'{"t_s":0.1,"type":"invoke","probe":"nbstat"}\n'
             b'{"t_s":0.2,"type":"ok","probe":"nbstat"}\n'
             b'{"t_s":0.3,"type":"fail","probe":"smb_rw"}\n'
             b'{"t_s":0.4,"type":"info","probe":"smb_echo"}\n'
             b'{"t_s":0.5,"type":"client","name":"c1"}\n')
    assert count_completions(chunk) == (3, 2)
    assert count_completions(b"") == (0, 0)


def test_phase_and_line():
    assert phase_of(SPANS, None) == "starting"
    assert phase_of(SPANS, -0.1) == "starting"
    assert phase_of(SPANS, 0.5) == "warmup"
    assert phase_of(SPANS, 4.0) == "fault"
    assert phase_of(SPANS, 11.5) == "finishing"
    state = State(index=2, total=9, scenario="rst", spans=SPANS, elapsed_s=4.14, ops=312, errors=1)
    assert progress_line(state) == "[2/9] rst: fault 4.1/11.0 s, 312 ops, 1 errors"
    state.elapsed_s = 99.0  # after the phases: elapsed shows the total, not more
    assert "finishing 11.0/11.0 s" in progress_line(state)


def _append(path, *lines):
    with open(path, "ab") as f:
        f.writelines(lines)


def test_plain_progress_prints_a_line_per_phase_and_reads_only_new_bytes(tmp_path):
    out, tty = io.StringIO(), io.StringIO()
    p = Progress(3, live=False, out=out, tty=tty)
    p.scenario(1, "rst", tmp_path, SPANS)
    p.close()  # no thread: the test calls tick() itself
    p._run_dir = tmp_path
    ok = b'{"type":"ok"}\n'
    _append(tmp_path / "events-c1.jsonl", ok, ok)
    _append(tmp_path / "events-victim.jsonl", b'{"type":"fail"}\n')  # the victim's own: not counted
    _append(tmp_path / "events-runner.jsonl", ok)
    p.tick()
    _append(tmp_path / "events-c1.jsonl", b'{"type":"fail"}\n{"type":"o')  # torn last line
    p.started(__import__("time").monotonic() - 4.5)
    p.tick()
    p.tick()  # same phase: no new line
    _append(tmp_path / "events-c1.jsonl", b'k"}\n')
    p.tick()
    lines = out.getvalue().splitlines()
    assert lines == ["progress [1/3] rst: starting 0.0/11.0 s, 2 ops, 0 errors",
                     "progress [1/3] rst: fault 4.5/11.0 s, 3 ops, 1 errors"]
    assert p.state.ops == 4 and p.state.errors == 1
    assert tty.getvalue() == ""


def test_live_progress_redraws_one_line_and_clears_it(tmp_path):
    tty = io.StringIO()
    p = Progress(1, live=True, tty=tty, out=io.StringIO())
    p.scenario(1, "baseline", tmp_path, SPANS)
    p.close()
    p._run_dir = tmp_path
    p.tick()
    p.tick()
    p.done()
    text = tty.getvalue()
    assert text.count("\r[1/1] baseline: starting") == 2 and text.endswith("\r\x1b[K")
    assert "\n" not in text


def test_quiet_progress_shows_nothing(tmp_path):
    out, tty = io.StringIO(), io.StringIO()
    p = Progress(1, enabled=False, live=True, tty=tty, out=out)
    p.scenario(1, "baseline", tmp_path, SPANS)
    assert p._thread is None
    p.close()
    assert out.getvalue() == tty.getvalue() == ""
