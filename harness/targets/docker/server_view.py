"""Looking into the container's network namespace for server-side evidence: commands run
there (the host's binaries through nsenter when root on the engine's host, else ``docker
exec`` with the image's ss, ip and iptables) and its TCP table (sock_diag inside the
namespace, no process per look)."""

from __future__ import annotations

import os
import shutil
import subprocess

from harness.errors import InfraError
from harness.lab.sockdiag import TcpTable
from harness.targets.docker.engine import engine_is_local


def nsenter_possible(client) -> bool:
    """Root, nsenter on the PATH and the engine on this host: the container's pid is ours."""
    return os.geteuid() == 0 and bool(shutil.which("nsenter")) and engine_is_local(client)


class NamespaceView:
    """The network namespace of one container, by its init process's host pid."""

    def __init__(self, container) -> None:
        self.container = container
        self._pid = 0
        self._diag: tuple[int, TcpTable] | None = None  # (init pid, its namespace's table)

    def pid(self) -> int:
        """Host pid of the container's init process (the entrypoint), for nsenter."""
        if self._pid and os.path.exists(f"/proc/{self._pid}"):
            return self._pid  # one inspect call less per look
        self.container.reload()
        pid = int(self.container.attrs["State"].get("Pid") or 0)
        if pid <= 0:
            raise InfraError(f"container {self.container.name} is not running")
        self._pid = pid
        return pid

    def tcp_table(self) -> TcpTable:
        """A sock_diag socket in the namespace (made again if the init process changed)."""
        pid = self.pid()
        if self._diag is None or self._diag[0] != pid:
            if self._diag:
                self._diag[1].close()
            self._diag = (pid, TcpTable(f"/proc/{pid}/ns/net"))
        return self._diag[1]

    def sh(self, argv: tuple[str, ...], nsenter: bool, timeout_s: float) -> str:
        """Run argv in the namespace; return stdout (InfraError on failure)."""
        if nsenter:
            cmd = ["nsenter", "-t", str(self.pid()), "-n", "--", *argv]
            try:
                done = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout_s, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise InfraError(f"timed out after {timeout_s:.0f}s: {' '.join(cmd)}") from exc
            if done.returncode != 0:
                msg = (done.stderr or done.stdout).strip().splitlines()
                raise InfraError(
                    f"{' '.join(cmd)}: {msg[-1] if msg else f'exit {done.returncode}'}"
                )
            return done.stdout
        result = self.container.exec_run(list(argv), stdout=True, stderr=True, demux=True)
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        if result.exit_code != 0:
            msg = (err or out or b"").decode(errors="replace").strip().splitlines()
            raise InfraError(
                f"docker exec {self.container.name} {' '.join(argv)}: "
                f"{msg[-1] if msg else f'exit {result.exit_code}'}"
            )
        return (out or b"").decode(errors="replace")

    def close(self) -> None:
        if self._diag:
            self._diag[1].close()
            self._diag = None
