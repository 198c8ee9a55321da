"""The benchmark's fallback table (used where `nbt-harness compare` is missing)."""

from tests.benchmarks.server_builds import plain_table


def _doc(server, p99_us, verdict="pass"):
    row = {"count": 40, "errors": 0, "p50_us": 500, "p99_us": p99_us, "max_us": p99_us}
    return {"target": "docker", "server": server, "scenarios": [
        {"name": "rst", "verdict": verdict, "reason": "", "probes": {"nbstat": {"fault": row}}},
        {"name": "netem", "verdict": "skip", "reason": "whole host", "probes": {}},
    ]}


def test_plain_table_rows_and_ratio():
    text = plain_table(_doc("Samba 4.17.12", 2000), _doc("Samba 4.22.11", 3000, "fail"))
    lines = text.splitlines()
    assert lines[0].split() == ["scenario", "probe", "phase", "base", "p50", "base", "p99", "new",
                                "p50", "new", "p99", "p99", "x"]
    assert lines[1].split() == ["rst", "nbstat", "fault", "0.50", "2.00", "0.50", "3.00", "1.50"]
    assert lines[2].startswith("netem") and "skip: whole host" in lines[2]
    assert lines[-2] == "base Samba 4.17.12: rst: pass, netem: skip"
    assert lines[-1] == "new  Samba 4.22.11: rst: fail, netem: skip"
