"""The Kubernetes driver: each agent a Deployment plus a Service in one namespace.

What it keeps in memory is what the API server says (``mirror``: listed at start, then
followed by watches), so ``status`` and ``events`` answer from that and reading never waits on
the cluster.

Writes (``writes``) carry the wish to the cluster at once and, when the API server refuses or
does not answer, keep it and retry in the background with a backoff (the agent's status shows
why meanwhile). A rollback is a re-apply: the fleet hands back the previous spec, whose pod
template (and so ReplicaSet) is the previous revision's.

Pod output is followed from ``pods/log`` into the line sinks (agentdeck's logs pipeline, see
``podlogs``), and read from it when asked (``logs``, the output tail).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from agentdeck.errors import invalid
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
from agentdeck.fleet.journal import Journal, LineSinks
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.api import Kube, KubeError
from agentdeck.fleet.kubernetes.mirror import (
    RETRY_INITIAL_SECONDS,
    RETRY_MAX_SECONDS,
    ClusterMirror,
)
from agentdeck.fleet.kubernetes.observe import workload_status
from agentdeck.fleet.kubernetes.podlogs import PodLogs
from agentdeck.fleet.kubernetes.writes import ClusterWriter
from agentdeck.settings import FleetKubernetesSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Wish:
    """What should exist for one agent; ``spec`` None: nothing (being deleted)."""

    spec: WorkloadSpec | None
    replicas: int
    strategy: Strategy


def _parse_log(text: str) -> list[tuple[datetime, str]]:
    """``<RFC 3339 time> <line>`` per line, as ``pods/log?timestamps=true`` writes them."""
    out = []
    for raw in text.splitlines():
        stamp, _, line = raw.partition(" ")
        head, dot, fraction = stamp.rstrip("Z").partition(".")
        try:
            at = datetime.fromisoformat(head + (dot + fraction[:6] if dot else "")).replace(
                tzinfo=UTC
            )
        except ValueError:
            at, line = datetime.now(UTC), raw
        out.append((at, line))
    return out


class KubernetesDriver:
    name = "kubernetes"

    def __init__(self, settings: FleetKubernetesSettings, *, kube: Kube | None = None) -> None:
        self.settings = settings
        self.kube = kube or Kube(settings)
        self.journal = Journal()
        self.sinks = LineSinks()
        self.mirror = ClusterMirror(self.kube, self.journal, self._spec_of)
        self.writer = ClusterWriter(self.kube, settings, self.mirror)
        self._wishes: dict[uuid.UUID, Wish] = {}
        self._errors: dict[uuid.UUID, str] = {}
        self._retries: dict[uuid.UUID, asyncio.TimerHandle] = {}
        self._backoff: dict[uuid.UUID, float] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected = False
        #: Every pod's output, followed into the line sinks (the logs pipeline).
        self.pod_logs = PodLogs(self.kube, self.sinks)
        self.journal.add_listener(
            lambda agent_id: self.pod_logs.sync(agent_id, self.mirror.pods.get(agent_id, {}))
        )

    @property
    def epoch(self) -> str:
        return self.journal.epoch

    # --- start and close -------------------------------------------------------------------

    async def start(self) -> None:
        await self.kube.connect()
        self._connected = True
        for kind in ("deployments", "pods"):
            self.mirror.synced[kind] = asyncio.Event()
            self._spawn(self.mirror.watch(kind), f"kubernetes-watch:{kind}")
        waiting = [asyncio.ensure_future(e.wait()) for e in self.mirror.synced.values()]
        done, pending = await asyncio.wait(waiting, timeout=self.settings.request_timeout_seconds)
        for future in pending:
            future.cancel()
        self.pod_logs.initial = False  # pods created from now on are followed from their start
        if pending:
            log.warning(
                "fleet: the Kubernetes API did not answer at start; retrying in the background",
                host=self.kube.host,
                error=self.mirror.watch_error,
            )
        log.info(
            "fleet: kubernetes driver started",
            host=self.kube.host,
            namespace=self.settings.namespace,
            workloads=len(self.mirror.deployments),
        )

    async def close(self) -> None:
        """Stops watching; the Deployments keep running (the cluster runs them, not us)."""
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.pod_logs.close()
        await self.kube.close()
        self._connected = False

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the protocol ----------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        where = f"namespace {self.settings.namespace} on {self.kube.host or 'no cluster'}"
        if self.mirror.watch_error:
            where += f"; watch reconnecting: {self.mirror.watch_error}"
        return Capabilities(
            driver=self.name,
            limits="kubernetes",
            cpu_limit=True,
            memory_limit=True,
            detail=f"container resources (requests = limits), {where}",
            active=True,
            replicas=self.mirror.live_pods(),
        )

    def validate(self, spec: WorkloadSpec, replicas: int, *, loc: Sequence[str]) -> None:
        if manifests.image_of(spec, self.settings) is None:
            also = ", or fleet.kubernetes.image for the built-in templates" if spec.template else ""
            detail = (
                "the kubernetes driver runs a container image; this spec names none (set "
                f"`image` in the agent's config{also})"
            )
            raise invalid("image-required", [*loc, "image"], detail)

    async def apply(self, spec: WorkloadSpec, *, replicas: int, strategy: Strategy) -> None:
        self._wishes[spec.agent_id] = Wish(spec, replicas, strategy)
        await self._converge(spec.agent_id)

    async def scale(self, agent_id: uuid.UUID, replicas: int) -> None:
        wish = self._wishes.get(agent_id)
        if wish is None:
            spec = self.mirror.spec_in_cluster(agent_id)
            if spec is None:
                return
            strategy = self.mirror.strategy_in_cluster(agent_id)
            wish = Wish(spec, replicas, strategy)
        self._wishes[agent_id] = Wish(wish.spec, replicas, wish.strategy)
        await self._converge(agent_id)

    async def stop(self, agent_id: uuid.UUID) -> None:
        await self.scale(agent_id, 0)

    async def delete(self, agent_id: uuid.UUID, *, wait: bool = False) -> None:
        spec = self._spec_of(agent_id)
        if spec is None and agent_id not in self.mirror.deployments:
            self._wishes.pop(agent_id, None)
            return
        self._wishes[agent_id] = Wish(None, 0, Strategy.rolling)
        await self._converge(agent_id)
        if wait:
            deadline = asyncio.get_running_loop().time() + self.settings.request_timeout_seconds
            changed = asyncio.Event()

            def listener(changed_id: uuid.UUID) -> None:
                if changed_id == agent_id:
                    changed.set()

            remove = self.journal.add_listener(listener)
            try:
                while self.mirror.pods.get(agent_id) or agent_id in self.mirror.deployments:
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), left)
            finally:
                remove()

    async def status(self, agent_id: uuid.UUID) -> WorkloadStatus | None:
        deployment = self.mirror.deployments.get(agent_id)
        error = self._errors.get(agent_id)
        if deployment is None:
            wish = self._wishes.get(agent_id)
            if wish is None or wish.spec is None or error is None:
                return None
            return WorkloadStatus(
                agent_id=agent_id, spec_hash=wish.spec.spec_hash, desired=wish.replicas, error=error
            )
        status = workload_status(agent_id, deployment, self.mirror.pods.get(agent_id, {}).values())
        if error is not None:
            combined = f"{error}; {status.error}" if status.error else error
            status = replace(status, error=combined)
        return status

    async def workloads(self) -> list[uuid.UUID]:
        wished = {a for a, w in self._wishes.items() if w.spec is not None}
        return sorted(set(self.mirror.deployments) | wished, key=str)

    async def events(self, agent_id: uuid.UUID, *, after: int = 0) -> list[DriverEvent]:
        return self.journal.events(agent_id, after=after)

    async def logs(
        self, agent_id: uuid.UUID, *, replica: str | None = None, limit: int = 100
    ) -> list[LogLine]:
        deployment = self.mirror.deployments.get(agent_id)
        spec = self._spec_of(agent_id)
        if deployment is None or spec is None or not limit:
            return []
        lines: list[LogLine] = []
        tail = min(limit, self.settings.log_tail_lines)
        for name in sorted(self.mirror.pods.get(agent_id, {})):
            if replica is not None and name != replica:
                continue
            try:
                text = await self.kube.pod_log(name, tail_lines=tail)
            except KubeError as exc:
                log.info("fleet: reading a pod's log failed", pod=name, error=str(exc))
                continue
            for at, line in _parse_log(text):
                lines.append(
                    LogLine(
                        tenant_id=spec.tenant_id,
                        agent_id=agent_id,
                        agent=spec.agent_name,
                        replica=name,
                        stream="stdout",
                        line=line,
                        at=at,
                    )
                )
        lines.sort(key=lambda line: line.at)
        return lines[-limit:]

    def add_line_sink(self, sink: LineSink) -> Callable[[], None]:
        """Hand every pod's output lines to ``sink`` (see ``podlogs``)."""
        return self.sinks.add(sink)

    def add_listener(self, listener: ChangeListener) -> None:
        self.journal.add_listener(listener)

    def set_env_source(self, source: EnvSource) -> None:
        """Kept for the protocol: a pod's environment is in its Deployment, readable by anyone
        who may read Deployments, so the agents' telemetry keys are not put there (a
        Kubernetes Secret per agent would be the way; not built)."""
        del source

    # --- writing ---------------------------------------------------------------------------

    def _spec_of(self, agent_id: uuid.UUID) -> WorkloadSpec | None:
        wish = self._wishes.get(agent_id)
        if wish is not None and wish.spec is not None:
            return wish.spec
        return self.mirror.spec_in_cluster(agent_id)

    async def _converge(self, agent_id: uuid.UUID) -> None:
        """Carry the agent's wish to the cluster now; on failure keep it, show why in the
        status, and retry later (backed off)."""
        handle = self._retries.pop(agent_id, None)
        if handle is not None:
            handle.cancel()
        lock = self._locks.setdefault(agent_id, asyncio.Lock())
        async with lock:
            wish = self._wishes.get(agent_id)
            if wish is None:
                return
            try:
                if wish.spec is None:
                    await self.writer.remove(agent_id)
                else:
                    await self.writer.push(wish.spec, wish.replicas, wish.strategy)
            except KubeError as exc:
                self._failed(agent_id, exc)
                return
        if self._errors.pop(agent_id, None) is not None:
            self.journal.changed(agent_id)
        self._backoff.pop(agent_id, None)
        if wish.spec is None and self._wishes.get(agent_id) == wish:
            del self._wishes[agent_id]

    def _failed(self, agent_id: uuid.UUID, exc: KubeError) -> None:
        message = f"the Kubernetes API refused or did not answer: {exc}"
        first = self._errors.get(agent_id) != message
        self._errors[agent_id] = message
        if first:
            self.journal.emit(agent_id, "apply_failed", message, None, None)
            log.warning("fleet: a Kubernetes write failed", agent_id=str(agent_id), error=str(exc))
        delay = self._backoff.get(agent_id, RETRY_INITIAL_SECONDS)
        self._backoff[agent_id] = min(delay * 2, RETRY_MAX_SECONDS)
        loop = asyncio.get_running_loop()
        self._retries[agent_id] = loop.call_later(
            delay, lambda: self._spawn(self._converge(agent_id), f"kubernetes-retry:{agent_id}")
        )
