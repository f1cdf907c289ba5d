"""The local driver: agents as supervised subprocesses of this host.

One process group per replica (each starts a new session), a free port per replica given as
``PORT``, readiness by polling the health path, restarts with exponential backoff, SIGTERM then
SIGKILL after the grace period, output to per-replica files that are tailed (see ``logs``),
limits by cgroup v2 or rlimits (see ``limits``), and a state file (see ``state``) so that the
next agentdeck process re-adopts live replicas, restarts dead ones and kills whatever it
started that it no longer knows (every replica's environment carries this fleet's id, so even
processes missing from the state file are found in ``/proc``).

One process per fleet directory supervises: it holds an exclusive lock on
``supervisor.lock``; another agentdeck process on the same directory stays a standby that
changes nothing (``capabilities().active`` is false) until it gets the lock at its next start.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from agentdeck.errors import Conflict, invalid
from agentdeck.fleet.driver import (
    Capabilities,
    ChangeListener,
    DriverEvent,
    EnvSource,
    LineSink,
    LogLine,
    Strategy,
    WorkloadSpec,
    WorkloadStatus,
)
from agentdeck.fleet.journal import Journal
from agentdeck.fleet.local import recovery
from agentdeck.fleet.local.limits import Limiter
from agentdeck.fleet.local.logs import LogTailer
from agentdeck.fleet.local.replica import Replica, Runtime
from agentdeck.fleet.local.state import FleetState, StateFile
from agentdeck.fleet.local.workload import Workload, replica_name
from agentdeck.settings import FleetSettings

log = structlog.get_logger(__name__)

#: The server's environment variables a replica inherits; everything else (the server's own
#: AGENTDECK_* settings, database URLs, keys) stays out of the agents' processes.
INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


def base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    return env


class LocalDriver:
    name = "local"

    def __init__(self, settings: FleetSettings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.active = False
        self.limiter = Limiter(settings.cgroup_root)
        self.tailer = LogTailer(
            directory / "logs",
            poll=settings.log_poll_seconds,
            buffer_lines=settings.log_buffer_lines,
            max_bytes=settings.log_file_max_bytes,
        )
        self.state_file = StateFile(directory / "state.json")
        self.fleet_id = ""
        self.journal = Journal()
        self._workloads: dict[uuid.UUID, Workload] = {}
        self._deleting: set[asyncio.Task[None]] = set()
        self._lock_fd: int | None = None
        self._loading = False
        self._ports: set[int] = set()
        self._runtime = Runtime(
            settings=settings,
            fleet_id="",
            limiter=self.limiter,
            tailer=self.tailer,
            base_env=base_environment(),
            ports=self._ports,
            emit=self._emit,
            changed=self._changed,
            persist=self._persist,
        )

    @property
    def epoch(self) -> str:
        return self.journal.epoch

    # --- start and close -----------------------------------------------------------------------

    async def start(self) -> None:
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        self.fleet_id = self._fleet_id()
        self._runtime.fleet_id = self.fleet_id
        if not self._lock():
            log.warning(
                "fleet: another agentdeck process supervises this fleet directory; standing by",
                directory=str(self.directory),
            )
            return
        self.active = True
        self._loading = True
        try:
            self._restore(self.state_file.load())
        finally:
            self._loading = False
        for workload in self._workloads.values():
            workload.start()
        self.tailer.start()
        self._persist()
        log.info(
            "fleet: local driver started",
            workloads=len(self._workloads),
            replicas=self._replica_count(),
            limits=self.limiter.support.mode,
        )

    def _fleet_id(self) -> str:
        path = self.directory / "fleet-id"
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        if not value:
            value = secrets.token_hex(8)
            path.write_text(value)
        return value

    def _lock(self) -> bool:
        fd = os.open(self.directory / "supervisor.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _restore(self, state: FleetState) -> None:
        for agent_id, wanted in state.workloads.items():
            self._workloads[uuid.UUID(agent_id)] = self._workload(
                WorkloadSpec.from_json(wanted.spec), wanted.replicas, Strategy(wanted.strategy)
            )
        kept_groups: set[int] = set()
        for record in state.replicas:
            workload = self._workloads.get(uuid.UUID(record.agent_id))
            replica = recovery.adopt(record, self._runtime) if workload is not None else None
            if workload is None or replica is None:
                continue  # gone, or nobody wants it any more: end_orphans ends its group
            workload.adopt(replica)
            kept_groups.add(record.pgid)
            self._emit(
                replica.spec.agent_id,
                "replica_adopted",
                f"replica {record.name} (pid {record.pid}) re-adopted after a restart",
                record.name,
                replica.spec_hash,
            )
        recovery.end_orphans(self.fleet_id, kept_groups)
        tracked = {r.name for w in self._workloads.values() for r in w.replicas.values()}
        recovery.drop_stale_output(self.directory / "logs", tracked)

    async def close(self) -> None:
        if not self.active:
            return
        workloads = list(self._workloads.values())
        if self.settings.keep_replicas_on_shutdown:
            await asyncio.gather(*(w.detach_all() for w in workloads))
        else:
            await asyncio.gather(*(w.stop_all() for w in workloads))
        if self._deleting:
            await asyncio.gather(*self._deleting, return_exceptions=True)
        await self.tailer.stop()
        self._persist()
        self.active = False
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None
        log.info("fleet: local driver stopped", kept=self.settings.keep_replicas_on_shutdown)

    # --- the protocol --------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        support = self.limiter.support
        detail = support.detail if self.active else "standby: another process supervises"
        return Capabilities(
            driver=self.name,
            limits=support.mode,
            cpu_limit=support.cpu,
            memory_limit=support.memory,
            detail=detail,
            active=self.active,
            replicas=self._replica_count(),
        )

    def validate(self, spec: WorkloadSpec, replicas: int, *, loc: Sequence[str]) -> None:
        where = list(loc)
        if spec.command is None:
            raise invalid(
                "command-required",
                [*where, "command"],
                "the local driver runs a command; this spec names none"
                + (" (only an image: use the kubernetes driver)" if spec.image else ""),
            )
        if spec.working_dir is not None and not os.path.isdir(spec.working_dir):
            raise invalid(
                "working-dir-not-found",
                [*where, "working_dir"],
                f"the working directory {spec.working_dir!r} does not exist on this host",
            )
        if _resolve(spec) is None:
            raise invalid(
                "command-not-found",
                [*where, "command"],
                f"the command {spec.command!r} was not found on this host (or is not executable)",
            )
        if spec.port is not None and replicas > 1:
            raise invalid(
                "fixed-port-replicas",
                [*where, "port"],
                f"a fixed port ({spec.port}) runs one replica on the local driver; leave the "
                "port out to give each replica its own in PORT",
            )
        others = sum(w.live_count() for a, w in self._workloads.items() if a != spec.agent_id)
        if others + replicas > self.settings.max_replicas:
            raise Conflict(
                f"this host runs {others} other replicas; {replicas} more would pass "
                f"fleet.max_replicas ({self.settings.max_replicas})",
                kind="fleet-capacity",
            )

    async def apply(self, spec: WorkloadSpec, *, replicas: int, strategy: Strategy) -> None:
        if not self.active:
            return
        workload = self._workloads.get(spec.agent_id)
        if workload is None:
            workload = self._workloads[spec.agent_id] = self._workload(spec, replicas, strategy)
            workload.start()
            workload.wake()
        elif not workload.apply(spec, replicas, strategy):
            return
        self._emit(
            spec.agent_id,
            "workload_applied",
            f"target: version {spec.version} ({spec.spec_hash}) × {replicas}, {strategy.value}",
            None,
            spec.spec_hash,
        )
        self._persist()

    async def scale(self, agent_id: uuid.UUID, replicas: int) -> None:
        workload = self._workloads.get(agent_id)
        if workload is not None and self.active:
            await self.apply(workload.spec, replicas=replicas, strategy=workload.strategy)

    async def stop(self, agent_id: uuid.UUID) -> None:
        await self.scale(agent_id, 0)

    async def delete(self, agent_id: uuid.UUID, *, wait: bool = False) -> None:
        workload = self._workloads.pop(agent_id, None)
        if workload is None or not self.active:
            return
        self._emit(agent_id, "workload_deleted", "workload deleted", None, None)

        async def remove() -> None:
            await workload.stop_all()
            self.journal.forget(agent_id)
            self._persist()

        task = asyncio.create_task(remove(), name=f"delete:{agent_id}")
        self._deleting.add(task)
        task.add_done_callback(self._deleting.discard)
        self._persist()
        if wait:
            await asyncio.shield(task)

    async def status(self, agent_id: uuid.UUID) -> WorkloadStatus | None:
        workload = self._workloads.get(agent_id)
        return workload.status() if workload is not None else None

    async def workloads(self) -> list[uuid.UUID]:
        return list(self._workloads)

    async def events(self, agent_id: uuid.UUID, *, after: int = 0) -> list[DriverEvent]:
        return self.journal.events(agent_id, after=after)

    async def logs(
        self, agent_id: uuid.UUID, *, replica: str | None = None, limit: int = 100
    ) -> list[LogLine]:
        workload = self._workloads.get(agent_id)
        if workload is None:
            return []
        self.tailer.read_all()
        lines: list[LogLine] = []
        for name in workload.replicas:
            if replica is not None and name != replica:
                continue
            output = self.tailer.get(name)
            if output is not None:
                lines.extend(output.lines)
        lines.sort(key=lambda line: line.at)
        return lines[-limit:] if limit else []

    def add_line_sink(self, sink: LineSink) -> Callable[[], None]:
        return self.tailer.add_sink(sink)

    def set_env_source(self, source: EnvSource) -> None:
        self._runtime.env_source = source

    def add_listener(self, listener: ChangeListener) -> None:
        self.journal.add_listener(listener)

    # --- internals -----------------------------------------------------------------------------

    def _workload(self, spec: WorkloadSpec, replicas: int, strategy: Strategy) -> Workload:
        return Workload(
            spec,
            desired=replicas,
            strategy=strategy,
            new_replica=self._new_replica,
            room=lambda: self.settings.max_replicas - self._replica_count(),
        )

    def _new_replica(self, spec: WorkloadSpec) -> Replica:
        return Replica(name=replica_name(spec), spec=spec, runtime=self._runtime)

    def _replica_count(self) -> int:
        return sum(w.live_count() for w in self._workloads.values())

    def _emit(
        self,
        agent_id: uuid.UUID,
        kind: str,
        message: str,
        replica: str | None,
        spec_hash: str | None,
    ) -> None:
        self.journal.emit(agent_id, kind, message, replica, spec_hash)
        if kind in ("replica_exited", "replica_crash_loop", "replica_failed", "replica_killed"):
            log.info("fleet event", agent_id=str(agent_id), kind=kind, detail=message)
        self._changed(agent_id)

    def _changed(self, agent_id: uuid.UUID) -> None:
        workload = self._workloads.get(agent_id)
        if workload is not None:
            workload.wake()
        self.journal.changed(agent_id)

    def _persist(self) -> None:
        if self._loading or not self.active:
            return
        self.state_file.save(recovery.snapshot(self._workloads, self.tailer))


def _resolve(spec: WorkloadSpec) -> str | None:
    """The executable the spec's command names, or None."""
    command = spec.command or ""
    if os.sep in command:
        path = command if os.path.isabs(command) else os.path.join(spec.working_dir or ".", command)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    search = spec.env.get("PATH") or base_environment().get("PATH")
    return shutil.which(command, path=search)
