"""The ``Driver`` protocol: how the fleet runs an agent's replicas, whatever runs them.

The shape is Kubernetes' Deployment: the fleet hands a driver a *workload* per agent, a
desired spec (what to run: command or image, environment, port, health path, limits) and a
replica count, and asks it what it observes (replicas, which spec each runs, which are ready).
Changing the spec rolls the replicas over to the new one by the workload's strategy
(``rolling``: one new replica ready before one old stops; ``recreate``: all old stop, then the
new start). Nothing here blocks on processes or pods: ``apply``, ``scale`` and ``stop`` record
the wish and return; the driver converges in the background and says so in ``status`` and
``events``.

Implementations: :mod:`agentdeck.fleet.local` (supervised subprocesses on this host) and a
Kubernetes driver (a Deployment plus a Service per agent). Drivers may raise the domain errors
of :mod:`agentdeck.errors` (``Invalid`` from :meth:`Driver.validate`, ``Conflict`` when out of
capacity, ``Unavailable`` when the backend does not answer).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

Stream = Literal["stdout", "stderr"]


class Strategy(StrEnum):
    rolling = "rolling"
    recreate = "recreate"


class ReplicaPhase(StrEnum):
    """Where one replica is in its life (a pod's phase and container state, in one word)."""

    pending = "pending"  # not started yet (waiting for room in a rollout, or for its backoff)
    starting = "starting"  # running, not ready yet
    ready = "ready"  # running and passing its health check
    unready = "unready"  # running, was ready, now failing its health check
    backoff = "backoff"  # exited; restarts after a delay
    crash_loop = "crash_loop"  # exited quickly too many times in a row; still retried, backed off
    terminating = "terminating"  # asked to stop; waiting for it to exit
    stopped = "stopped"  # gone


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """What to run for one agent: a Deployment's pod template in driver-neutral words."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    version: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    port: int | None = None
    health_path: str | None = None
    image: str | None = None
    template: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Changes on a restart request: a new spec hash rolls every replica over.
    restart_generation: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": str(self.tenant_id),
            "agent_id": str(self.agent_id),
            "agent_name": self.agent_name,
            "version": self.version,
            "command": self.command,
            "args": list(self.args),
            "env": dict(self.env),
            "working_dir": self.working_dir,
            "port": self.port,
            "health_path": self.health_path,
            "image": self.image,
            "template": self.template,
            "cpu_limit": self.cpu_limit,
            "memory_limit": self.memory_limit,
            "config": dict(self.config),
            "restart_generation": self.restart_generation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkloadSpec:
        return cls(
            tenant_id=uuid.UUID(str(data["tenant_id"])),
            agent_id=uuid.UUID(str(data["agent_id"])),
            agent_name=str(data["agent_name"]),
            version=str(data["version"]),
            command=data.get("command"),
            args=tuple(str(a) for a in data.get("args") or ()),
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            working_dir=data.get("working_dir"),
            port=data.get("port"),
            health_path=data.get("health_path"),
            image=data.get("image"),
            template=data.get("template"),
            cpu_limit=data.get("cpu_limit"),
            memory_limit=data.get("memory_limit"),
            config=dict(data.get("config") or {}),
            restart_generation=int(data.get("restart_generation") or 0),
        )

    @property
    def spec_hash(self) -> str:
        """Identifies what a replica runs (not which agent name it has): 12 hex digits."""
        data = self.to_json()
        data.pop("agent_name")
        raw = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """One replica as the driver sees it (a process here, a pod on Kubernetes)."""

    name: str
    spec_hash: str
    version: str
    phase: ReplicaPhase
    ready: bool
    pid: int | None = None
    pod: str | None = None
    port: int | None = None
    started_at: datetime | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: datetime | None = None
    last_exit_reason: str | None = None
    message: str | None = None
    adopted: bool = False


@dataclass(frozen=True, slots=True)
class WorkloadStatus:
    """What a driver observes of one agent's workload."""

    agent_id: uuid.UUID
    spec_hash: str | None  # the spec it is converging to
    desired: int
    replicas: tuple[ReplicaStatus, ...] = ()
    #: Why it cannot converge (a crash loop with the last stderr lines, a command not found).
    error: str | None = None
    #: The driver's own verdict that the rollout to ``spec_hash`` failed (Kubernetes: the
    #: Deployment's Progressing condition is ProgressDeadlineExceeded): a deployment of that
    #: spec fails (and is rolled back) at once rather than at its own deadline.
    rollout_failed: str | None = None

    @property
    def live(self) -> tuple[ReplicaStatus, ...]:
        return tuple(r for r in self.replicas if r.phase is not ReplicaPhase.stopped)

    @property
    def ready(self) -> int:
        return sum(1 for r in self.live if r.ready)

    @property
    def updated(self) -> int:
        """Replicas of the target spec (not terminating)."""
        return sum(
            1
            for r in self.live
            if r.spec_hash == self.spec_hash and r.phase is not ReplicaPhase.terminating
        )

    @property
    def updated_ready(self) -> int:
        return sum(1 for r in self.live if r.spec_hash == self.spec_hash and r.ready)

    @property
    def outdated(self) -> int:
        """Replicas of another spec still present (terminating ones included)."""
        return sum(1 for r in self.live if r.spec_hash != self.spec_hash)

    @property
    def settled(self) -> bool:
        """Every desired replica runs the target spec and is ready; nothing else is left."""
        return (
            self.updated_ready == self.desired
            and self.outdated == 0
            and len(self.live) == self.desired
        )


@dataclass(frozen=True, slots=True)
class DriverEvent:
    """Something that happened to a workload; ``seq`` grows within one driver ``epoch``."""

    seq: int
    at: datetime
    agent_id: uuid.UUID
    kind: str  # replica_started, replica_ready, replica_unready, replica_exited, ...
    message: str
    replica: str | None = None
    spec_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "message": self.message,
            "replica": self.replica,
            "spec_hash": self.spec_hash,
        }


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a replica wrote, with the labels the logs pipeline files it under."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    agent: str
    replica: str
    stream: Stream
    line: str
    at: datetime
    #: The agent version the replica runs (what its deployment rolled out); "" unknown.
    version: str = ""

    @property
    def labels(self) -> dict[str, str]:
        labels = {
            "agent": self.agent,
            "agent_id": str(self.agent_id),
            "replica": self.replica,
            "stream": self.stream,
        }
        if self.version:
            labels["version"] = self.version
        return labels


#: Receives the lines read since the last call, in order per replica and stream. Called on the
#: event loop; it must not block (hand the lines to a queue).
LineSink = Callable[[Sequence[LogLine]], None]
#: Told the agent id whenever a workload changed (a replica started, became ready, exited).
ChangeListener = Callable[[uuid.UUID], None]
#: Secret environment variables of a replica of this spec, asked each time one starts (the
#: agent's telemetry key): never part of the spec, so never stored, hashed or shown with it.
EnvSource = Callable[[WorkloadSpec], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the driver can do here, as ``/readyz`` and ``GET /api/v1/fleet/driver`` show it."""

    driver: str
    #: How CPU and memory limits are enforced: ``cgroup-v2``, ``rlimit``, ``kubernetes``.
    limits: str
    cpu_limit: bool
    memory_limit: bool
    detail: str
    #: False when this process only watches (another process runs this host's replicas).
    active: bool = True
    replicas: int = 0


@runtime_checkable
class Driver(Protocol):
    """Runs agents' replicas. Every method is keyed by the agent id."""

    name: str

    async def start(self) -> None:
        """Connect, and pick up what runs already (re-adopt replicas left by a restart)."""

    async def close(self) -> None:
        """Stop watching; whether replicas keep running is the driver's documented policy."""

    def capabilities(self) -> Capabilities: ...

    @property
    def epoch(self) -> str:
        """Changes whenever event sequence numbers start over (a new process)."""

    def validate(self, spec: WorkloadSpec, replicas: int, *, loc: Sequence[str]) -> None:
        """Raise ``Invalid`` (field under ``loc``) for a spec this driver cannot run, or
        ``Conflict`` when the replicas would not fit."""

    async def apply(self, spec: WorkloadSpec, *, replicas: int, strategy: Strategy) -> None:
        """Converge the agent's workload to ``spec`` × ``replicas`` (create it if new)."""

    async def scale(self, agent_id: uuid.UUID, replicas: int) -> None:
        """Change the replica count only."""

    async def stop(self, agent_id: uuid.UUID) -> None:
        """Scale to zero, keeping the workload (its spec, its logs)."""

    async def delete(self, agent_id: uuid.UUID, *, wait: bool = False) -> None:
        """Remove the workload and every replica; ``wait``: until they are gone."""

    async def status(self, agent_id: uuid.UUID) -> WorkloadStatus | None:
        """What runs for the agent; None when the driver has no workload for it."""

    async def workloads(self) -> list[uuid.UUID]:
        """The agents this driver has workloads for (to remove those of deleted agents)."""

    async def events(self, agent_id: uuid.UUID, *, after: int = 0) -> list[DriverEvent]:
        """The workload's events with ``seq`` above ``after``, oldest first (bounded)."""

    async def logs(
        self, agent_id: uuid.UUID, *, replica: str | None = None, limit: int = 100
    ) -> list[LogLine]:
        """The last ``limit`` output lines of the agent's replicas (or of one), oldest first."""

    def add_line_sink(self, sink: LineSink) -> Callable[[], None]:
        """Hand every output line to ``sink`` from now on; returns its removal."""

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener`` with the agent id when its workload changes."""

    def set_env_source(self, source: EnvSource) -> None:
        """Ask ``source`` for the secret environment of every replica started from now on."""
