"""One supervised replica: a process slot that starts its command, probes it, restarts it with
exponential backoff when it exits, and stops it with SIGTERM then SIGKILL.

The slot keeps its name, port and restart count across restarts of its process (as a pod keeps
its name across container restarts). Quick exits in a row (within ``backoff_reset_seconds`` of
starting) double the delay before the next start, from ``backoff_initial_seconds`` up to
``backoff_max_seconds``; after ``crash_loop_restarts`` of them the replica is in a crash loop
(still retried) and its message carries the last stderr lines. A command that cannot be started
at all (not found, not executable, working directory missing) is a crash loop at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from agentdeck.db.base import utcnow
from agentdeck.fleet.driver import EnvSource, ReplicaPhase, ReplicaStatus, WorkloadSpec
from agentdeck.fleet.local import procs
from agentdeck.fleet.local.limits import Limiter, memory_bytes
from agentdeck.fleet.local.logs import LogTailer
from agentdeck.fleet.local.probe import free_port, http_ok, port_free
from agentdeck.settings import FleetSettings

log = structlog.get_logger(__name__)

EXIT_WAIT_AFTER_KILL = 5.0


@dataclass(slots=True)
class Runtime:
    """What every replica of the local driver shares."""

    settings: FleetSettings
    fleet_id: str
    limiter: Limiter
    tailer: LogTailer
    base_env: Mapping[str, str]
    ports: set[int]
    emit: Callable[[uuid.UUID, str, str, str | None, str | None], None]
    changed: Callable[[uuid.UUID], None]
    persist: Callable[[], None]
    #: The secret environment of a replica (its agent's telemetry key), asked at each start.
    env_source: EnvSource | None = None


def _argv(spec: WorkloadSpec) -> list[str]:
    if spec.command is None:
        raise FileNotFoundError("the spec names no command")
    return [spec.command, *spec.args]


class Replica:
    def __init__(
        self,
        *,
        name: str,
        spec: WorkloadSpec,
        runtime: Runtime,
        handle: procs.ProcessHandle | None = None,
        port: int | None = None,
        started_at: datetime | None = None,
        restarts: int = 0,
    ) -> None:
        self.name = name
        self.spec = spec
        self.spec_hash = spec.spec_hash
        self.rt = runtime
        self.handle = handle
        self.adopted = handle is not None
        self.port = port
        self.started_at = started_at
        self.restarts = restarts
        self.failures = 0
        self.phase = ReplicaPhase.starting if handle else ReplicaPhase.pending
        self.ready = False
        self.message: str | None = None
        self.last_exit_code: int | None = None
        self.last_exit_at: datetime | None = None
        self.last_exit_reason: str | None = None
        self.stopping = False
        self._stop = asyncio.Event()
        self._detached = False
        self._task: asyncio.Task[None] | None = None
        if port is not None:
            runtime.ports.add(port)
        self.output = runtime.tailer.track(
            tenant_id=spec.tenant_id,
            agent_id=spec.agent_id,
            agent=spec.agent_name,
            replica=name,
            version=spec.version,
        )

    # --- control -------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"replica:{self.name}")

    def request_stop(self) -> None:
        if not self.stopping:
            self.stopping = True
            self._stop.set()

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def detach(self) -> None:
        """Stop supervising but leave the process running (for the next agentdeck to adopt)."""
        self._detached = True
        if self._task is not None:
            self._task.cancel()
        await self.wait()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def crash_looping(self) -> bool:
        """Failed quickly too often in a row and not ready since (its process may be up)."""
        return self.failures >= self.rt.settings.crash_loop_restarts and not self.ready

    def status(self) -> ReplicaStatus:
        return ReplicaStatus(
            name=self.name,
            spec_hash=self.spec_hash,
            version=self.spec.version,
            phase=self.phase,
            ready=self.ready,
            pid=self.handle.pid if self.handle else None,
            port=self.port,
            started_at=self.started_at if self.handle else None,
            restarts=self.restarts,
            last_exit_code=self.last_exit_code,
            last_exit_at=self.last_exit_at,
            last_exit_reason=self.last_exit_reason,
            message=self.message,
            adopted=self.adopted and self.handle is not None,
        )

    # --- the supervision loop ------------------------------------------------------------------

    def _event(self, kind: str, message: str) -> None:
        self.rt.emit(self.spec.agent_id, kind, message, self.name, self.spec_hash)

    def _set_phase(self, phase: ReplicaPhase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self.rt.changed(self.spec.agent_id)

    async def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.handle is None and not self._spawn():
                    if await self._backoff():
                        break
                    continue
                code = await self._supervise()
                if self._stop.is_set():
                    break
                self._exited(code)
                if await self._backoff():
                    break
        finally:
            if not self._detached:
                await self._terminate()
                self._cleanup()

    def _cleanup(self) -> None:
        self.ready = False
        self.rt.ports.discard(self.port or -1)
        self.rt.limiter.release(self.name)
        self.rt.tailer.forget(self.name, remove_files=True)
        self._set_phase(ReplicaPhase.stopped)
        self._event("replica_stopped", f"replica {self.name} stopped")
        self.rt.persist()

    def _env(self, port: int) -> dict[str, str]:
        env = dict(self.rt.base_env)
        env.update(self.spec.env)
        env.update(
            {
                "PORT": str(port),
                "AGENTDECK_AGENT_ID": str(self.spec.agent_id),
                "AGENTDECK_AGENT_NAME": self.spec.agent_name,
                "AGENTDECK_AGENT_VERSION": self.spec.version,
                "AGENTDECK_REPLICA": self.name,
                "AGENTDECK_FLEET_ID": self.rt.fleet_id,
            }
        )
        if self.rt.env_source is not None:
            env.update(self.rt.env_source(self.spec))
        if self.spec.config:
            env["AGENTDECK_AGENT_CONFIG"] = json.dumps(dict(self.spec.config), default=str)
        memory = memory_bytes(self.spec.memory_limit)
        if memory is not None:  # what the templates report agent_memory_percent against
            env["AGENTDECK_MEMORY_LIMIT_BYTES"] = str(memory)
        return env

    def _pick_port(self) -> int:
        if self.spec.port is not None:
            if self.port != self.spec.port:
                self.rt.ports.discard(self.port or -1)
            self.port = self.spec.port
            if not port_free(self.port):
                raise OSError(f"port {self.port} is in use by another process")
        elif self.port is None or not port_free(self.port):
            self.rt.ports.discard(self.port or -1)
            port = free_port()
            while port in self.rt.ports:
                port = free_port()
            self.port = port
        self.rt.ports.add(self.port)
        return self.port

    def _spawn(self) -> bool:
        """Start the process; False (with the reason recorded) when it cannot start."""
        spec = self.spec
        try:
            port = self._pick_port()
            preexec = self.rt.limiter.prepare(self.name, spec.cpu_limit, spec.memory_limit)
            stdout, stderr = self.rt.tailer.paths(self.name)
            self.handle = procs.spawn(
                _argv(spec),
                env=self._env(port),
                cwd=spec.working_dir,
                stdout=stdout,
                stderr=stderr,
                preexec=preexec,
            )
        except (OSError, ValueError, TypeError) as exc:  # subprocess raises these for bad argv
            self._start_failed(exc)
            return False
        self.started_at = utcnow()
        self.adopted = False
        self.ready = False
        self._set_phase(ReplicaPhase.starting)
        self.rt.persist()  # at once: a crash of agentdeck from here on leaves its pid on disk
        self._event(
            "replica_started",
            f"replica {self.name} started (pid {self.handle.pid}, port {port}, "
            f"version {spec.version})",
        )
        return True

    def _start_failed(self, exc: Exception) -> None:
        if isinstance(exc, FileNotFoundError):
            if exc.filename and spec_dir_missing(exc.filename, self.spec.working_dir):
                reason = f"the working directory {exc.filename!r} does not exist"
            else:
                reason = f"the command {self.spec.command!r} was not found"
            fatal = True
        elif isinstance(exc, PermissionError):
            reason = f"the command {self.spec.command!r} cannot be executed (permission denied)"
            fatal = True
        else:
            reason = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
            fatal = False
        self.last_exit_code = None
        self.last_exit_at = utcnow()
        self.last_exit_reason = f"could not start: {reason}"
        self.failures = (
            max(self.failures + 1, self.rt.settings.crash_loop_restarts)
            if fatal
            else self.failures + 1
        )
        self.message = self.last_exit_reason
        self._event("replica_failed", f"replica {self.name} could not start: {reason}")
        self._after_failure()

    def _exited(self, code: int | None) -> None:
        now = utcnow()
        uptime = (now - self.started_at).total_seconds() if self.started_at else 0.0
        if uptime >= self.rt.settings.backoff_reset_seconds:
            self.failures = 0
        self.failures += 1
        self.last_exit_code = code
        self.last_exit_at = now
        self.last_exit_reason = procs.describe_exit(code)
        self.rt.tailer.drain(self.name)
        stderr = list(self.output.stderr_tail)
        self.message = self.last_exit_reason + (
            ":\n" + "\n".join(stderr[-10:]) if stderr else " (no stderr output)"
        )
        self._event("replica_exited", f"replica {self.name} {self.last_exit_reason}")
        self._after_failure()

    def _after_failure(self) -> None:
        self.ready = False
        if self.failures >= self.rt.settings.crash_loop_restarts:
            if self.phase is not ReplicaPhase.crash_loop:
                self._event(
                    "replica_crash_loop",
                    f"replica {self.name} is in a crash loop ({self.failures} failures in a "
                    f"row): {self.message}",
                )
            self._set_phase(ReplicaPhase.crash_loop)
        else:
            self._set_phase(ReplicaPhase.backoff)
        self.rt.persist()

    async def _backoff(self) -> bool:
        """Wait before the next start; True when asked to stop meanwhile."""
        settings = self.rt.settings
        delay = min(
            settings.backoff_max_seconds,
            settings.backoff_initial_seconds * 2 ** max(0, self.failures - 1),
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
        if not self._stop.is_set():
            self.restarts += 1
        return self._stop.is_set()

    async def _supervise(self) -> int | None:
        """Until the process exits (its code) or a stop is asked (then it is terminated)."""
        assert self.handle is not None
        exit_task = asyncio.ensure_future(self.handle.wait())
        stop_task = asyncio.ensure_future(self._stop.wait())
        probe_task = asyncio.ensure_future(self._probe())
        try:
            await asyncio.wait({exit_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            probe_task.cancel()
            stop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe_task
        if exit_task.done():
            code = exit_task.result()
            self.handle.kill_leftovers()
            self.handle = None
            return code
        exit_task.cancel()
        return None  # stopping: the finally of _run terminates it

    async def _terminate(self) -> None:
        handle = self.handle
        if handle is None:
            return
        self.ready = False
        self._set_phase(ReplicaPhase.terminating)
        self._event("replica_stopping", f"replica {self.name} stopping (SIGTERM)")
        handle.signal_group(signal.SIGTERM)
        grace = self.rt.settings.grace_period_seconds
        try:
            async with asyncio.timeout(grace):
                await handle.wait()
        except TimeoutError:
            self._event(
                "replica_killed",
                f"replica {self.name} did not exit within {grace:g} s of SIGTERM; SIGKILL",
            )
            handle.signal_group(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(EXIT_WAIT_AFTER_KILL):
                    await handle.wait()
        handle.kill_leftovers()
        self.last_exit_code = handle.exit_code
        self.last_exit_at = utcnow()
        self.last_exit_reason = procs.describe_exit(handle.exit_code)
        self.handle = None

    async def _probe(self) -> None:
        """Readiness: the health path answering (or, without one, having run a while)."""
        settings = self.rt.settings
        path = self.spec.health_path
        failed = 0
        while True:
            if path and self.port is not None:
                ok = await http_ok(self.port, path, within=settings.probe_timeout_seconds)
            else:
                started = self.started_at or utcnow()
                ok = (utcnow() - started).total_seconds() >= settings.min_ready_seconds
            if ok:
                failed = 0
                if not self.ready:
                    self.ready = True
                    self.message = None
                    self._event("replica_ready", f"replica {self.name} is ready")
                    self._set_phase(ReplicaPhase.ready)
            elif self.ready:
                failed += 1
                if failed >= settings.failure_threshold:
                    self.ready = False
                    self.message = f"health check {path} failing"
                    self._event(
                        "replica_unready",
                        f"replica {self.name} failed {failed} health checks in a row",
                    )
                    self._set_phase(ReplicaPhase.unready)
            if self.ready:
                await asyncio.sleep(settings.probe_interval_seconds)
            else:
                await asyncio.sleep(
                    settings.startup_probe_interval_seconds
                    if path
                    else max(0.05, settings.min_ready_seconds / 4)
                )


def spec_dir_missing(filename: object, working_dir: str | None) -> bool:
    return (
        working_dir is not None and str(filename) == working_dir and not os.path.isdir(working_dir)
    )
