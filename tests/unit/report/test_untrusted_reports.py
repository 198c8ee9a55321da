"""compare and report take report.json as input, not as trusted: a crafted one can make
them neither decompress without bound nor read a file outside the run directory."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import pytest

from harness.checkers import histograms
from harness.report.files import histories_of, load_report

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "golden_report.json").read_text())["report"]
BOMB_BYTES = 200 << 20


def zip_bomb() -> str:
    """An encoded 'histogram' whose payload inflates to 200 MiB (about 200 kB of base64)."""
    c = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    payload = b"".join(c.compress(chunk) for _ in range(BOMB_BYTES >> 20)) + c.flush()
    cookie = histograms.encode(histograms.new()).encode()
    cookie = struct.unpack(">I", base64.b64decode(cookie)[:4])[0]
    return base64.b64encode(struct.pack(">II", cookie, len(payload)) + payload).decode()


def test_a_histogram_zip_bomb_is_refused_without_inflating_it():
    bomb = zip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="decompresses past"):
            histograms.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak >> 20} MiB allocated to refuse it"


def test_a_real_histogram_still_decodes():
    h = histograms.of_latencies_us(range(1, 60_000_000, 997))
    assert histograms.decode(histograms.encode(h)).get_total_count() == h.get_total_count()


def _crafted(tmp_path: Path, **entry_changes) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    doc = json.loads(json.dumps(GOLDEN))
    doc["scenarios"] = [{**doc["scenarios"][0], **entry_changes}]
    (run / "report.json").write_text(json.dumps(doc))
    return run


def _outside_history(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "history.jsonl").write_text('{"t_s": 0, "type": "run", "note": "not the run\'s"}\n')
    (outside / "secret").write_text('{"t_s": 0, "type": "run", "note": "secret"}\n')
    return outside


@pytest.mark.parametrize("changes", [
    lambda o: {"history": str(o / "history.jsonl")},  # an absolute path elsewhere
    lambda o: {"history": str(o / "secret")},  # any file
    lambda o: {"history": "../outside/history.jsonl"},
    lambda o: {"name": "../outside"},  # the scenario name as a path
    lambda o: {"name": str(o)},
])
def test_a_report_cannot_make_the_tool_read_a_file_outside_its_run_dir(tmp_path, changes):
    outside = _outside_history(tmp_path)
    doc, run_dir = load_report(_crafted(tmp_path, **changes(outside)))
    assert histories_of(doc, run_dir) == {}


def test_histories_inside_the_run_dir_are_still_found_and_after_a_move(tmp_path):
    run = _crafted(tmp_path, name="rst x", history="/elsewhere/old-run/rst-x/history.jsonl")
    (run / "rst-x").mkdir()
    (run / "rst-x" / "history.jsonl").write_text('{"t_s": 0, "type": "run"}\n')
    doc, run_dir = load_report(run)
    assert histories_of(doc, run_dir) == {"rst x": [{"t_s": 0, "type": "run"}]}


def test_report_and_compare_on_a_report_with_a_zip_bomb_are_one_line_exit_2(tmp_path):
    doc = json.loads(json.dumps(GOLDEN))
    entry = doc["scenarios"][0]
    probe = next(iter(entry["probes"]))
    phase = next(iter(entry["probes"][probe]))
    entry["probes"][probe][phase]["hdr"] = zip_bomb()
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(doc))
    good = tmp_path / "good"
    good.mkdir()
    (good / "report.json").write_text(json.dumps(GOLDEN))
    for argv in (["report", str(run), "--output", str(tmp_path / "r.html")],
                 ["compare", str(good), str(run)]):
        done = subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 2, (argv, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
