"""Processes on Linux: start one in its own session, know it again later, wait for it, end it.

A replica's process is known by its pid *and* its start time (``/proc/<pid>/stat`` field 22,
clock ticks since boot): after a restart of agentdeck a pid alone could belong to some other
process by now. Exits are waited for through a pidfd on the event loop (no thread, no
polling); where pidfds are missing (kernels before 5.3) the pid is polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    state: str
    ppid: int
    pgid: int
    start_ticks: int
    cpu_ticks: int


def proc_info(pid: int) -> ProcInfo | None:
    """The process's line of ``/proc/<pid>/stat``; None when there is no such process."""
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or parentheses itself
    rest = raw[raw.rfind(b")") + 2 :].split()
    try:
        return ProcInfo(
            pid=pid,
            state=rest[0].decode(),
            ppid=int(rest[1]),
            pgid=int(rest[2]),
            start_ticks=int(rest[19]),
            cpu_ticks=int(rest[11]) + int(rest[12]),
        )
    except (IndexError, ValueError):
        return None


def alive(pid: int, start_ticks: int) -> bool:
    """Whether the process that started at ``start_ticks`` with this pid still runs."""
    info = proc_info(pid)
    return info is not None and info.start_ticks == start_ticks and info.state not in ("Z", "X")


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited (code unknown: started by an earlier agentdeck process)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"


class ProcessHandle:
    """One replica's main process: a child of ours, or one adopted after a restart."""

    def __init__(
        self,
        pid: int,
        pgid: int,
        start_ticks: int,
        popen: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.pid = pid
        self.pgid = pgid
        self.start_ticks = start_ticks
        self.popen = popen
        self.exit_code: int | None = None
        self._exited = False

    @property
    def adopted(self) -> bool:
        return self.popen is None

    def running(self) -> bool:
        if self._exited:
            return False
        if self.popen is not None:
            return self.popen.poll() is None
        return alive(self.pid, self.start_ticks)

    async def wait(self) -> int | None:
        """Until the process exits; its exit code (negative: the signal), None when adopted."""
        if not self._exited:
            if not await self._wait_pidfd():
                await self._poll()
            self._reap()
        return self.exit_code

    async def _wait_pidfd(self) -> bool:
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return True  # gone already
        except (AttributeError, OSError):
            return False
        try:
            if not self.running():  # the pid was reused, or it exited before the open
                return True
            loop = asyncio.get_running_loop()
            done = loop.create_future()

            def readable() -> None:
                if not done.done():
                    done.set_result(None)

            loop.add_reader(fd, readable)
            try:
                await done
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
        return True

    async def _poll(self) -> None:
        """Without pidfds: look every ``POLL_SECONDS`` (an adopted process sends no signal)."""
        while self.running():  # noqa: ASYNC110 - nothing to wait on but the clock
            await asyncio.sleep(POLL_SECONDS)

    def _reap(self) -> None:
        if self._exited:
            return
        if self.popen is not None:
            try:
                self.exit_code = self.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:  # pragma: no cover - the pidfd said it exited
                return
        self._exited = True

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (the replica and what it started)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def kill_leftovers(self) -> None:
        """SIGKILL what is left of the group once the main process exited."""
        self.signal_group(signal.SIGKILL)


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    stdout: Path,
    stderr: Path,
    preexec: Callable[[], None] | None,
) -> ProcessHandle:
    """Start ``argv`` as the leader of a new session (so of a new process group), its output
    appended to the two files. Raises ``OSError`` when it cannot start (no such command)."""
    with stdout.open("ab") as out, stderr.open("ab") as err:
        # the agent's own command, by design (see docs/fleet.md on who it runs as)
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
            preexec_fn=preexec,  # rlimits or joining a cgroup: nothing that takes a lock
        )
    info = proc_info(popen.pid)  # a child is not reaped until we wait: its entry is there
    start_ticks = info.start_ticks if info is not None else 0
    return ProcessHandle(popen.pid, popen.pid, start_ticks, popen)


def adopt(pid: int, pgid: int, start_ticks: int) -> ProcessHandle | None:
    """A handle on a replica an earlier agentdeck started, if it is still that process."""
    info = proc_info(pid)
    if info is None or info.start_ticks != start_ticks or info.state in ("Z", "X"):
        return None
    if info.pgid != pgid:
        return None
    return ProcessHandle(pid, pgid, start_ticks)


def marked_processes(key: str, value: str) -> Iterator[tuple[int, int, str | None]]:
    """(pid, pgid, replica) of every process whose environment has ``key=value`` (ours: the
    processes this fleet started, and what they started in turn)."""
    needle = f"{key}={value}".encode()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        variables = environ.split(b"\0")
        if needle not in variables:
            continue
        info = proc_info(int(entry.name))
        if info is None or info.state in ("Z", "X"):
            continue
        replica = next(
            (
                v.split(b"=", 1)[1].decode(errors="replace")
                for v in variables
                if v.startswith(b"AGENTDECK_REPLICA=")
            ),
            None,
        )
        yield info.pid, info.pgid, replica
