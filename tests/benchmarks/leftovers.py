"""The machine check after one harness run: what of the run (owner pid P) is still here.

Looks for everything the harness makes, each recognised by the run's pid:
network namespaces ``nbth-P-*``; processes of the run (its session or process group P,
the caller's environment marker, a command line naming ``nbth-P-``, or inside one of its
namespaces); iptables rules commented ``nbth-P-*`` in the root namespace (every table);
netem qdiscs in the root namespace that a baseline did not have (a netem qdisc cannot be
traced to its owner: such an entry is reported but never removed); temp dirs ``nbth-P-*``
in every scratch root (harness.scratch: /tmp, /dev/shm) and the scratch files (``nbth-*``)
on the embedded share inside them; the scratch files of a visible share directory that a baseline did not have; containers labelled
``nbt-harness.owner=P``.

``scan()`` lists them, ``remove()`` removes those that carry the owner pid and nothing else
(other runs on the same machine are left alone: never ``cleanup --all``). The parsers are
pure and tested on hand-written text; ``scan``/``remove`` are tested against real leftovers.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.scratch import scratch_roots

PREFIX = "nbth-"
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw")
OWNER_LABEL = "nbt-harness.owner"
CMD_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Leftover:
    kind: str  # netns | process | iptables | qdisc | tempdir | share_file | container
    what: str  # one line for people
    key: str  # what remove() acts on: a name, a pid, "table<TAB>rule", a path, an id
    owned: bool = True  # carries the owner pid: remove() may take it

    def __str__(self) -> str:
        return f"{self.kind} {self.what}"


@dataclass(frozen=True)
class Baseline:
    """What was there before the run and cannot be traced to an owner."""

    root_netem: frozenset[str] = frozenset()
    share_entries: dict[str, frozenset[str]] = field(default_factory=dict)


# ---- pure parsers -------------------------------------------------------------------------

def owned_name(name: str, owner_pid: int) -> bool:
    return name.startswith(f"{PREFIX}{owner_pid}-")


def parse_proc_stat(text: str) -> dict:
    """/proc/<pid>/stat -> {comm, state, ppid, pgid, sid}; comm may hold spaces and ')'."""
    left, right = text.find("("), text.rfind(")")
    if left < 0 or right < left:
        raise ValueError("not a /proc/<pid>/stat line")
    rest = text[right + 2:].split()
    return {"comm": text[left + 1:right], "state": rest[0], "ppid": int(rest[1]),
            "pgid": int(rest[2]), "sid": int(rest[3])}


def environ_has(raw: bytes, marker: str) -> bool:
    """Whether a /proc/<pid>/environ blob holds the exact entry ``marker`` (KEY=VALUE)."""
    return marker.encode() in raw.split(b"\0")


def cmdline_text(raw: bytes) -> str:
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def process_marks(stat: dict, environ: bytes, cmdline: str, owner_pid: int,
                  marker: str | None) -> list[str]:
    """Why a process belongs to run ``owner_pid`` (empty: it does not)."""
    why = []
    if stat["sid"] == owner_pid:
        why.append(f"session {owner_pid}")
    elif stat["pgid"] == owner_pid:
        why.append(f"process group {owner_pid}")
    if marker and environ_has(environ, marker):
        why.append("marked environment")
    if f"{PREFIX}{owner_pid}-" in cmdline:
        why.append(f"command line names {PREFIX}{owner_pid}-")
    return why


def tagged_rules(iptables_s: str, owner_pid: int) -> list[str]:
    """The ``-A ...`` lines of ``iptables -S`` output commented ``nbth-<owner_pid>-*``."""
    tag = re.compile(rf"--comment\s+\"?{re.escape(PREFIX)}{owner_pid}-")
    return [line for line in iptables_s.splitlines() if line.startswith("-A ") and tag.search(line)]


def netem_qdiscs(tc_show: str) -> list[str]:
    """The netem lines of ``tc qdisc show`` output, normalised (no refcnt: it changes)."""
    out = []
    for line in tc_show.splitlines():
        if " netem " in f" {line} ":
            out.append(re.sub(r"\s+refcnt \d+", "", line).strip())
    return out


def qdisc_dev(line: str) -> str | None:
    m = re.search(r"\bdev (\S+)", line)
    return m.group(1) if m else None


# ---- looking at the machine ---------------------------------------------------------------

def _run(argv: list[str]) -> str | None:
    """stdout of a command, or None when it is missing, fails or times out."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CMD_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _list_netns() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def process_info(pid: int) -> tuple[dict, bytes, str] | None:
    try:
        stat = parse_proc_stat(_read(f"/proc/{pid}/stat").decode(errors="replace"))
        environ = _read(f"/proc/{pid}/environ")
        cmdline = cmdline_text(_read(f"/proc/{pid}/cmdline"))
    except (OSError, ValueError):
        return None  # gone meanwhile (or a kernel thread with nothing to read)
    return stat, environ, cmdline


def run_processes(owner_pid: int, marker: str | None = None,
                  extra_pids: dict[int, str] | None = None) -> list[Leftover]:
    """Processes of the run: marked by session, group, environment or command line, plus
    ``extra_pids`` (pid -> reason, e.g. found inside one of the run's namespaces)."""
    me = os.getpid()
    out = []
    extra = dict(extra_pids or {})
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        info = process_info(pid)
        if info is None:
            continue
        stat, environ, cmdline = info
        why = process_marks(stat, environ, cmdline, owner_pid, marker)
        if pid in extra:
            why.append(extra.pop(pid))
        if why:
            out.append(Leftover("process", f"{pid} {stat['comm']} [{stat['state']}] "
                                f"({', '.join(why)}): {cmdline[:120]}", str(pid)))
    return out


def take_baseline(share_dirs: tuple[Path, ...] = ()) -> Baseline:
    tc = _run(["tc", "qdisc", "show"]) or ""
    return Baseline(root_netem=frozenset(netem_qdiscs(tc)),
                    share_entries={str(d): frozenset(_share_entries(d)) for d in share_dirs})


def _share_entries(directory: Path) -> list[str]:
    try:
        return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return []


def _containers(owner_pid: int) -> list[Leftover]:
    if not shutil.which("docker"):
        return []
    text = _run(["docker", "ps", "-a", "--filter", f"label={OWNER_LABEL}={owner_pid}",
                 "--format", "{{.ID}} {{.Names}} {{.Status}}"])
    out = []
    for line in (text or "").splitlines():
        cid, _, rest = line.partition(" ")
        out.append(Leftover("container", f"{cid} {rest}", cid))
    return out


def scan(owner_pid: int, marker: str | None = None, share_dirs: tuple[Path, ...] = (),
         baseline: Baseline | None = None, docker: bool = True) -> list[Leftover]:
    """Everything of run ``owner_pid`` still on the machine (empty: it left nothing)."""
    baseline = baseline or Baseline()
    found: list[Leftover] = []
    in_netns: dict[int, str] = {}
    for name in _list_netns():
        if owned_name(name, owner_pid):
            pids = (_run(["ip", "netns", "pids", name]) or "").split()
            found.append(Leftover("netns", f"{name} ({len(pids)} process(es) inside)", name))
            in_netns.update({int(p): f"inside netns {name}" for p in pids if p.isdigit()})
    found += run_processes(owner_pid, marker, in_netns)
    for table in IPTABLES_TABLES:
        text = _run(["iptables", "-w", "5", "-t", table, "-S"]) or ""
        found += [Leftover("iptables", f"root namespace, table {table}: {rule}", f"{table}\t{rule}")
                  for rule in tagged_rules(text, owner_pid)]
    for line in netem_qdiscs(_run(["tc", "qdisc", "show"]) or ""):
        if line not in baseline.root_netem:
            found.append(Leftover("qdisc", f"root namespace: {line} (owner unknown)", line,
                                  owned=False))
    for d in sorted(d for root in scratch_roots() for d in root.iterdir()):
        if owned_name(d.name, owner_pid):
            found.append(Leftover("tempdir", str(d), str(d)))
            share = d / "share"
            found += [Leftover("share_file", f"{share / n} (in the run's temp dir)", str(share / n))
                      for n in _share_entries(share)]
    for share in share_dirs:
        before = baseline.share_entries.get(str(share), frozenset())
        found += [Leftover("share_file", f"{Path(share) / n} (owner unknown)", str(Path(share) / n),
                           owned=False)
                  for n in _share_entries(Path(share)) if n not in before]
    if docker:
        found += _containers(owner_pid)
    return found


def remove(leftovers: list[Leftover], owner_pid: int, marker: str | None = None) -> None:
    """Remove the leftovers that carry ``owner_pid``; nothing else. A process is killed only
    if it still carries the run's marks (its pid may have been reused meanwhile); one found
    only inside a namespace dies with the namespace. Scan again to see what is left."""
    for item in leftovers:
        if item.kind != "process" or not item.owned:
            continue
        info = process_info(int(item.key))
        if info and process_marks(*info, owner_pid, marker):
            try:
                os.kill(int(item.key), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for item in leftovers:
        if not item.owned:
            continue
        if item.kind == "netns" and owned_name(item.key, owner_pid):
            from harness.lab.netns import delete_netns

            delete_netns(item.key)
        elif item.kind == "iptables":
            table, rule = item.key.split("\t", 1)
            _run(["iptables", "-w", "5", "-t", table, "-D", *shlex.split(rule)[1:]])
        elif item.kind == "tempdir" and owned_name(Path(item.key).name, owner_pid):
            shutil.rmtree(item.key, ignore_errors=True)
        elif item.kind == "container":
            _run(["docker", "rm", "-f", item.key])
