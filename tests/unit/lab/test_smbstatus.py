"""The victim's entries in smbstatus --json output (the shape Samba 4.17 prints). Pure."""

from harness.lab.smbstatus import tables, victim_pids


def sid(pid):
    return {"pid": str(pid), "task_id": "0", "vnn": "4294967295", "unique_id": "1"}


def open_(pid, share="R", oplock=None, lease=None):
    return {"server_id": sid(pid), "uid": 0, "share_file_id": "7",
            "sharemode": {"hex": "0x1", "READ": True, "text": share},
            "access_mask": {"hex": "0x12019f", "text": "RW"},
            "caching": {"text": ""}, "oplock": {"text": oplock} if oplock else {},
            "lease": {"text": lease} if lease else {}, "opened_at": "2026-12-07T19:28:19+00:00"}


DOC = {
    "sessions": {"1": {"server_id": sid(100), "hostname": "ipv4:10.0.0.11:40000"},
                 "2": {"server_id": sid(200), "hostname": "ipv4:10.0.0.12:40001"}},
    "open_files": {
        "/s/held.dat": {"filename": "held.dat", "opens": {"100/7": open_(100, oplock="BATCH")}},
        "/s/mine.dat": {"filename": "mine.dat", "opens": {"200/3": open_(200, "RW")}},
        "/s/v.dat": {"filename": "v.dat", "opens": {"100/9": open_(100, lease="RWH")}},
    },
    "byte_range_locks": {"/s/held.dat": {"file_name": "held.dat", "locks": [
        {"server_id": sid(100), "type": "W", "flavour": "Windows", "start": 0, "size": 4096}]}},
}


def test_the_victim_by_its_sessions_address_else_by_who_holds_the_file():
    assert victim_pids(DOC, "10.0.0.11:40000", "held.dat") == ["100"]
    assert victim_pids(DOC, "10.0.0.2:1", "held.dat") == ["100"]  # behind a relay
    assert victim_pids(DOC, None, None) == []
    assert victim_pids(DOC, None, None, "-4242-") == []
    doc = {**DOC, "open_files": {**DOC["open_files"], "/s/o": {
        "filename": "nbth-victim_data-4242-ab12.dat", "opens": {"300/1": open_(300, "RW")}}}}
    assert victim_pids(doc, None, "held.dat", "-4242-") == ["100", "300"]


def test_the_held_files_and_the_victims_entries_only():
    got = tables(DOC, ["100"], "held.dat")
    assert [(o["file"], o["victim"], o["oplock"], o["lease"]) for o in got["opens"]] == [
        ("held.dat", True, "BATCH", None), ("v.dat", True, None, "RWH")]
    assert got["locks"] == [{"file": "held.dat", "pid": "100", "victim": True, "type": "W",
                             "start": 0, "size": 4096}]
    assert got["sessions"] == 2
    assert tables({}, [], None) == {"opens": [], "locks": [], "sessions": 0}
