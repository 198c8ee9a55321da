"""The crowd master's output lines, and where its master may be placed."""

from harness.crowd import protocol
from harness.crowd.control import placement_error, worker_host
from harness.scenario.crowd import crowd_from_dict
from harness.server import Endpoint
from harness.targets.base import Target


def test_lines_round_trip_and_log_lines_are_not_ours():
    text = protocol.line(protocol.READY, workers=["crowd1"], users=2)
    assert text.endswith("\n") and "\n" not in text[:-1]
    assert protocol.parse_line(text) == {"event": "ready", "workers": ["crowd1"], "users": 2}
    for other in ("", "[2026-12-07 19:00:00] master: ready", "{not json", '{"no": "event"}',
                  "[1, 2]", '{"event": 3}'):
        assert protocol.parse_line(other) is None


class Lab(Target):
    """A target whose clients run in lab hosts (their namespace names)."""

    def __init__(self, lab: bool) -> None:
        self.lab = lab

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("10.213.0.1", "SRV", "share", "user")

    def client_netns(self, role: str) -> str | None:
        return f"nbth-1-1-{role}" if self.lab else None


def test_a_master_outside_the_lab_cannot_serve_local_workers_in_it():
    bound = crowd_from_dict({"users": 2, "workers": 1, "master_bind": "127.0.0.1:5599"})
    assert "cannot reach a master outside the lab" in placement_error(bound, Lab(True))
    assert placement_error(bound, Lab(False)) is None  # clients in the harness's namespace
    remote_only = crowd_from_dict({"users": 2, "workers": 0, "remote_workers": 2,
                                   "master_bind": "127.0.0.1:5599"})
    assert placement_error(remote_only, Lab(True)) is None
    in_lab = crowd_from_dict({"users": 2, "workers": 2})
    assert placement_error(in_lab, Lab(True)) is None
    assert [worker_host(i) for i in range(2)] == ["crowd1", "crowd2"]
