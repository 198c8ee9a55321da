import os

from harness.clients import scratch
from harness.clients.scratch import run_marker, scratch_owner


def test_scratch_names_carry_the_client_pid_and_the_run_marker():
    assert scratch_owner("nbth-victim-4242-a1B2c3") == (4242, "a1B2c3")
    assert scratch_owner("nbth-victim-4242-a1B2c3.dat") == (4242, "a1B2c3")
    assert scratch_owner("nbth-c12-77-x9.dat") == (77, "x9")
    assert run_marker("nbth-4242-events-k_3zq9w1") == "k3zq9w1"


def test_other_names_are_never_scratch():
    for name in ("nbth-victim", "nbth-victim-42.txt", "report.dat", "nbth--42", "xnbth-c1-42-a.dat",
                 "nbth-c1-42-a.dat.bak", "nbth-c1-4a2-a.dat", "nbth-c1-42-.dat", ".", ".."):
        assert scratch_owner(name) is None, name


class _Entry:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_longname(self) -> str:
        return self.name

    def is_directory(self) -> bool:
        return not self.name.endswith(".dat")


def test_sweep_leaves_another_hosts_files_with_the_same_pid(monkeypatch):
    """A shared share: this run's client 4242 and another host's client 4242 both left files.
    The sweep removes only the ones carrying this run's marker (once it matched the pid alone)."""
    mine = "nbth-4242-events-ab12cd34"
    scratch.set_run_marker(mine)
    own = scratch.scratch_name("c1") + ".dat"
    assert own == f"nbth-c1-{os.getpid()}-ab12cd34.dat"
    share = [own, f"nbth-victim-{os.getpid()}-ab12cd34",
             f"nbth-c1-{os.getpid()}-zz99yy88.dat", f"nbth-victim-{os.getpid()}-zz99yy88"]
    deleted: list[str] = []

    class Conn:  # the share root as the sweep's session sees it
        def listPath(self, share_name, pattern):
            return [_Entry(n) for n in share if n not in deleted]

        def deleteFile(self, share_name, name):
            deleted.append(name)

        deleteDirectory = deleteFile

    class Session:
        conn = Conn()
        endpoint = type("E", (), {"share": "share"})()

        def close(self):
            pass

    monkeypatch.setattr("harness.clients.scratch.open_session", lambda *a, **k: Session())
    out = scratch.sweep(Session.endpoint, [os.getpid()], 1.0, run_tag=mine)
    assert sorted(out["removed"]) == sorted(share[:2]) and out["left"] == []
    scratch.set_run_marker("")
