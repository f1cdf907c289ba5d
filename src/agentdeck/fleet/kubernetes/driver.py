"""The Kubernetes driver: each agent a Deployment plus a Service in one namespace.

What it keeps in memory is what the API server says: Deployments and pods labelled
``app.kubernetes.io/managed-by=agentdeck`` in the namespace, listed at start and then followed
by watches that resume from the last ``resourceVersion`` (a 410 Gone lists again). ``status``
and ``events`` answer from that, so reading never waits on the cluster.

Writes carry the wish to the cluster at once and, when the API server refuses or does not
answer, keep it and retry in the background with a backoff (the agent's status shows why
meanwhile). A replace is optimistic: it sends the ``resourceVersion`` it read; a 409 (someone
changed the Deployment meanwhile) reads it again and retries. Scaling patches the ``scale``
subresource. A rollback is a re-apply: the fleet hands back the previous spec, whose pod
template (and so ReplicaSet) is the previous revision's.

Events are made by comparing what the watches deliver with what was seen before: pods created,
ready, unready, restarted (``replica_exited``), in CrashLoopBackOff, terminating and gone, and
the rollout's progress (``rollout_progressing``, ``rollout_complete``, ``rollout_failed``).
Pod output is read from ``pods/log`` when asked (``logs``); it is not streamed into agentdeck's
logs pipeline (a cluster's own log collector does that).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from agentdeck.errors import invalid
from agentdeck.fleet.driver import (
    Capabilities,
    ChangeListener,
    DriverEvent,
    LineSink,
    LogLine,
    ReplicaPhase,
    ReplicaStatus,
    Strategy,
    WorkloadSpec,
    WorkloadStatus,
)
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.api import Kind, Kube, KubeError
from agentdeck.fleet.kubernetes.observe import replica_of, rollout_of, workload_status
from agentdeck.settings import FleetKubernetesSettings

log = structlog.get_logger(__name__)

EVENTS_PER_WORKLOAD = 1000
MANIFEST_HASH = "agentdeck.io/manifest-hash"
CONFLICT_RETRIES = 5
RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
MANAGED = manifests.selector_text({manifests.MANAGED_BY: manifests.MANAGER})


@dataclass(frozen=True, slots=True)
class Wish:
    """What should exist for one agent; ``spec`` None: nothing (being deleted)."""

    spec: WorkloadSpec | None
    replicas: int
    strategy: Strategy


def _now() -> datetime:
    return datetime.now(UTC)


def _rv(doc: dict[str, Any] | None) -> str:
    return str(((doc or {}).get("metadata") or {}).get("resourceVersion") or "")


def _newer(candidate: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether ``candidate`` is at least as new as ``current`` (resource versions are opaque,
    but etcd's are integers; anything else counts as newer)."""
    a, b = _rv(candidate), _rv(current)
    if a.isdigit() and b.isdigit():
        return int(a) >= int(b)
    return True


def manifest_hash(doc: dict[str, Any]) -> str:
    """What the driver wrote into a Deployment, less its replica count: a changed image
    setting or strategy rolls it as a changed spec does."""
    body = json.loads(json.dumps(doc))
    body["spec"].pop("replicas", None)
    body["metadata"].get("annotations", {}).pop(MANIFEST_HASH, None)
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


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
            at, line = _now(), raw
        out.append((at, line))
    return out


class KubernetesDriver:
    name = "kubernetes"

    def __init__(self, settings: FleetKubernetesSettings, *, kube: Kube | None = None) -> None:
        self.settings = settings
        self.kube = kube or Kube(settings)
        self._epoch = secrets.token_hex(6)
        self._seq = 0
        self._events: dict[uuid.UUID, deque[DriverEvent]] = {}
        self._listeners: list[ChangeListener] = []
        self._sinks: list[LineSink] = []
        self._deployments: dict[uuid.UUID, dict[str, Any]] = {}
        self._pods: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
        self._seen: dict[uuid.UUID, dict[str, ReplicaStatus]] = {}
        self._rollouts: dict[uuid.UUID, tuple[int, str]] = {}
        self._wishes: dict[uuid.UUID, Wish] = {}
        self._errors: dict[uuid.UUID, str] = {}
        self._retries: dict[uuid.UUID, asyncio.TimerHandle] = {}
        self._backoff: dict[uuid.UUID, float] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._synced: dict[Kind, asyncio.Event] = {}
        self._watch_error: str | None = None
        self._connected = False

    @property
    def epoch(self) -> str:
        return self._epoch

    # --- start and close -------------------------------------------------------------------

    async def start(self) -> None:
        await self.kube.connect()
        self._connected = True
        for kind in ("deployments", "pods"):
            self._synced[kind] = asyncio.Event()
            self._spawn(self._watch(kind), f"kubernetes-watch:{kind}")
        waiting = [asyncio.ensure_future(e.wait()) for e in self._synced.values()]
        done, pending = await asyncio.wait(waiting, timeout=self.settings.request_timeout_seconds)
        for future in pending:
            future.cancel()
        if pending:
            log.warning(
                "fleet: the Kubernetes API did not answer at start; retrying in the background",
                host=self.kube.host,
                error=self._watch_error,
            )
        log.info(
            "fleet: kubernetes driver started",
            host=self.kube.host,
            namespace=self.settings.namespace,
            workloads=len(self._deployments),
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
        await self.kube.close()
        self._connected = False

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the protocol ----------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        where = f"namespace {self.settings.namespace} on {self.kube.host or 'no cluster'}"
        if self._watch_error:
            where += f"; watch reconnecting: {self._watch_error}"
        return Capabilities(
            driver=self.name,
            limits="kubernetes",
            cpu_limit=True,
            memory_limit=True,
            detail=f"container resources (requests = limits), {where}",
            active=True,
            replicas=sum(
                1
                for pods in self._pods.values()
                for pod in pods.values()
                if not (pod.get("metadata") or {}).get("deletionTimestamp")
            ),
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
            spec = self._spec_in_cluster(agent_id)
            if spec is None:
                return
            strategy = self._strategy_in_cluster(agent_id)
            wish = Wish(spec, replicas, strategy)
        self._wishes[agent_id] = Wish(wish.spec, replicas, wish.strategy)
        await self._converge(agent_id)

    async def stop(self, agent_id: uuid.UUID) -> None:
        await self.scale(agent_id, 0)

    async def delete(self, agent_id: uuid.UUID, *, wait: bool = False) -> None:
        spec = self._spec_of(agent_id)
        if spec is None and agent_id not in self._deployments:
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

            self._listeners.append(listener)
            try:
                while self._pods.get(agent_id) or agent_id in self._deployments:
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), left)
            finally:
                self._listeners.remove(listener)

    async def status(self, agent_id: uuid.UUID) -> WorkloadStatus | None:
        deployment = self._deployments.get(agent_id)
        error = self._errors.get(agent_id)
        if deployment is None:
            wish = self._wishes.get(agent_id)
            if wish is None or wish.spec is None or error is None:
                return None
            return WorkloadStatus(
                agent_id=agent_id, spec_hash=wish.spec.spec_hash, desired=wish.replicas, error=error
            )
        status = workload_status(agent_id, deployment, self._pods.get(agent_id, {}).values())
        if error is not None:
            combined = f"{error}; {status.error}" if status.error else error
            status = WorkloadStatus(
                agent_id=status.agent_id,
                spec_hash=status.spec_hash,
                desired=status.desired,
                replicas=status.replicas,
                error=combined,
                rollout_failed=status.rollout_failed,
            )
        return status

    async def workloads(self) -> list[uuid.UUID]:
        wished = {a for a, w in self._wishes.items() if w.spec is not None}
        return sorted(set(self._deployments) | wished, key=str)

    async def events(self, agent_id: uuid.UUID, *, after: int = 0) -> list[DriverEvent]:
        return [e for e in self._events.get(agent_id, ()) if e.seq > after]

    async def logs(
        self, agent_id: uuid.UUID, *, replica: str | None = None, limit: int = 100
    ) -> list[LogLine]:
        deployment = self._deployments.get(agent_id)
        spec = self._spec_of(agent_id)
        if deployment is None or spec is None or not limit:
            return []
        lines: list[LogLine] = []
        tail = min(limit, self.settings.log_tail_lines)
        for name in sorted(self._pods.get(agent_id, {})):
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
        """Kept for the protocol: pod output is not streamed into agentdeck (the cluster's log
        collector ships it); ``logs`` reads it on demand."""
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    # --- writing ---------------------------------------------------------------------------

    def _spec_in_cluster(self, agent_id: uuid.UUID) -> WorkloadSpec | None:
        deployment = self._deployments.get(agent_id)
        return manifests.spec_of(deployment) if deployment is not None else None

    def _strategy_in_cluster(self, agent_id: uuid.UUID) -> Strategy:
        deployment = self._deployments.get(agent_id) or {}
        kind = ((deployment.get("spec") or {}).get("strategy") or {}).get("type")
        return Strategy.recreate if kind == "Recreate" else Strategy.rolling

    def _spec_of(self, agent_id: uuid.UUID) -> WorkloadSpec | None:
        wish = self._wishes.get(agent_id)
        if wish is not None and wish.spec is not None:
            return wish.spec
        return self._spec_in_cluster(agent_id)

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
                    await self._remove(agent_id)
                else:
                    await self._push(wish.spec, wish.replicas, wish.strategy)
            except KubeError as exc:
                self._failed(agent_id, exc)
                return
        if self._errors.pop(agent_id, None) is not None:
            self._changed(agent_id)
        self._backoff.pop(agent_id, None)
        if wish.spec is None and self._wishes.get(agent_id) == wish:
            del self._wishes[agent_id]

    def _failed(self, agent_id: uuid.UUID, exc: KubeError) -> None:
        message = f"the Kubernetes API refused or did not answer: {exc}"
        first = self._errors.get(agent_id) != message
        self._errors[agent_id] = message
        if first:
            self._emit(agent_id, "apply_failed", message, None, None)
            log.warning("fleet: a Kubernetes write failed", agent_id=str(agent_id), error=str(exc))
        delay = self._backoff.get(agent_id, RETRY_INITIAL_SECONDS)
        self._backoff[agent_id] = min(delay * 2, RETRY_MAX_SECONDS)
        loop = asyncio.get_running_loop()
        self._retries[agent_id] = loop.call_later(
            delay, lambda: self._spawn(self._converge(agent_id), f"kubernetes-retry:{agent_id}")
        )

    async def _push(self, spec: WorkloadSpec, replicas: int, strategy: Strategy) -> None:
        agent_id = spec.agent_id
        name = manifests.object_name(spec.agent_name, agent_id)
        desired = manifests.deployment(
            spec, replicas=replicas, strategy=strategy, settings=self.settings
        )
        desired["metadata"]["annotations"][MANIFEST_HASH] = manifest_hash(desired)
        current = self._deployments.get(agent_id)
        if current is not None and (current.get("metadata") or {}).get("name") != name:
            current = None  # the agent was renamed: its objects are found by name below
        applied = False
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                current = await self.kube.get_deployment(name)
            if current is None:
                try:
                    self._store_deployment(await self.kube.create_deployment(desired))
                except KubeError as exc:
                    if exc.status != 409:  # 409 AlreadyExists: someone made it meanwhile
                        raise
                    continue
                applied = True
                break
            annotations = (current.get("metadata") or {}).get("annotations") or {}
            same_manifest = (
                annotations.get(MANIFEST_HASH) == desired["metadata"]["annotations"][MANIFEST_HASH]
            )
            if same_manifest and (current.get("spec") or {}).get("replicas") == replicas:
                break
            if same_manifest:  # only the count changed: the scale subresource
                self._store_deployment(await self._scale(name, replicas))
                applied = True
                break
            body = json.loads(json.dumps(desired))
            body["metadata"]["resourceVersion"] = _rv(current)
            try:
                self._store_deployment(await self.kube.replace_deployment(name, body))
            except KubeError as exc:
                if exc.status not in (404, 409):  # 409: stale resourceVersion; read again
                    raise
                current = None
                continue
            applied = True
            break
        else:
            raise KubeError(409, "Conflict", f"deployment {name} kept changing; will retry")
        await self._ensure_service(spec, name)
        if applied:
            self._emit(
                agent_id,
                "workload_applied",
                f"deployment {name}: version {spec.version} ({spec.spec_hash}) × {replicas}, "
                f"{strategy.value}",
                None,
                spec.spec_hash,
            )

    async def _scale(self, name: str, replicas: int) -> dict[str, Any]:
        await self.kube.scale_deployment(name, replicas)
        # the scale answer is an autoscaling/v1 Scale; the Deployment arrives by the watch
        current = await self.kube.get_deployment(name)
        if current is None:
            raise KubeError(404, "NotFound", f"deployment {name} is gone")
        return current

    async def _ensure_service(self, spec: WorkloadSpec, name: str) -> None:
        desired = manifests.service(spec, settings=self.settings)
        for _ in range(CONFLICT_RETRIES):
            current = await self.kube.get_service(name)
            if current is None:
                try:
                    await self.kube.create_service(desired)
                except KubeError as exc:
                    if exc.status != 409:
                        raise
                    continue
                return
            same = (current.get("metadata") or {}).get("labels") == desired["metadata"][
                "labels"
            ] and _service_fields(current) == _service_fields(desired)
            if same:
                return
            body = json.loads(json.dumps(desired))
            body["metadata"]["resourceVersion"] = _rv(current)
            cluster_ip = (current.get("spec") or {}).get("clusterIP")
            if cluster_ip:
                body["spec"]["clusterIP"] = cluster_ip  # immutable once allocated
            try:
                await self.kube.replace_service(name, body)
            except KubeError as exc:
                if exc.status not in (404, 409):
                    raise
                continue
            return
        raise KubeError(409, "Conflict", f"service {name} kept changing; will retry")

    async def _remove(self, agent_id: uuid.UUID) -> None:
        deployment = self._deployments.get(agent_id)
        names = set()
        if deployment is not None:
            names.add(str(deployment["metadata"]["name"]))
        spec = self._spec_in_cluster(agent_id)
        if spec is not None:
            names.add(manifests.object_name(spec.agent_name, agent_id))
        for name in sorted(names):
            await self.kube.delete_deployment(name)
            await self.kube.delete_service(name)
        self._emit(agent_id, "workload_deleted", "deployment and service deleted", None, None)

    def _store_deployment(self, doc: dict[str, Any]) -> None:
        agent_id = manifests.agent_id_of(doc)
        if agent_id is None or doc.get("kind") not in (None, "Deployment"):
            return
        if _newer(doc, self._deployments.get(agent_id)):
            self._deployments[agent_id] = doc
            self._observed(agent_id)

    # --- watching --------------------------------------------------------------------------

    async def _watch(self, kind: Kind) -> None:
        """List, then watch from the list's resourceVersion; resume after the server ends a
        watch; list again after 410 Gone; back off while the API server does not answer."""
        version: str | None = None
        delay = RETRY_INITIAL_SECONDS
        while True:
            try:
                if version is None:
                    listing = await self.kube.list(kind, MANAGED)
                    self._replace(kind, listing.items)
                    version = listing.resource_version
                    self._synced[kind].set()
                async for event in self.kube.watch(kind, MANAGED, version):
                    obj = event.get("object") or {}
                    version = _rv(obj) or version
                    if event.get("type") != "BOOKMARK":
                        self._event(kind, str(event.get("type")), obj)
                self._watch_error = None
                delay = RETRY_INITIAL_SECONDS
            except KubeError as exc:
                if exc.status == 410:  # Gone: the version is too old to resume from
                    version = None
                    continue
                self._watch_error = str(exc)
                log.info("fleet: kubernetes watch interrupted", kind=kind, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                if exc.status == 0:
                    version = None  # after an outage, list again rather than trust the gap
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a malformed answer must not end the watch for good
                self._watch_error = f"{type(exc).__name__}: {exc}"
                log.exception("fleet: kubernetes watch failed", kind=kind)
                version = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _replace(self, kind: Kind, items: list[dict[str, Any]]) -> None:
        touched: set[uuid.UUID] = set()
        if kind == "deployments":
            fresh: dict[uuid.UUID, dict[str, Any]] = {}
            for item in items:
                agent_id = manifests.agent_id_of(item)
                if agent_id is not None:
                    fresh[agent_id] = item
            touched = set(self._deployments) | set(fresh)
            self._deployments = fresh
        else:
            pods: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
            for item in items:
                agent_id = manifests.agent_id_of(item)
                if agent_id is not None:
                    pods.setdefault(agent_id, {})[str(item["metadata"]["name"])] = item
            touched = set(self._pods) | set(pods)
            self._pods = pods
        for agent_id in touched:
            self._observed(agent_id)

    def _event(self, kind: Kind, kind_of_event: str, obj: dict[str, Any]) -> None:
        agent_id = manifests.agent_id_of(obj)
        if agent_id is None:
            return
        if kind == "deployments":
            if kind_of_event == "DELETED":
                current = self._deployments.get(agent_id)
                if current is not None and _rv(obj) and not _newer(obj, current):
                    return  # an older object of the same agent (a rename) went
                self._deployments.pop(agent_id, None)
            else:
                if not _newer(obj, self._deployments.get(agent_id)):
                    return
                self._deployments[agent_id] = obj
        else:
            name = str(obj["metadata"]["name"])
            pods = self._pods.setdefault(agent_id, {})
            if kind_of_event == "DELETED":
                pods.pop(name, None)
                if not pods:
                    self._pods.pop(agent_id, None)
            else:
                pods[name] = obj
        self._observed(agent_id)

    def _observed(self, agent_id: uuid.UUID) -> None:
        """Turn what changed for the agent into events, and tell the listeners."""
        spec = self._spec_of(agent_id)
        before = self._seen.get(agent_id, {})
        now = {name: replica_of(pod) for name, pod in self._pods.get(agent_id, {}).items()}
        for name, replica in now.items():
            self._replica_events(agent_id, before.get(name), replica)
        for name, replica in before.items():
            if name not in now:
                self._emit(
                    agent_id,
                    "replica_stopped",
                    f"pod {name} is gone",
                    name,
                    replica.spec_hash,
                )
        if now:
            self._seen[agent_id] = now
        else:
            self._seen.pop(agent_id, None)
        deployment = self._deployments.get(agent_id)
        if deployment is not None:
            rollout = rollout_of(deployment)
            key = (rollout.generation, rollout.state)
            if self._rollouts.get(agent_id) != key and rollout.state != "observed":
                self._rollouts[agent_id] = key
                self._emit(
                    agent_id,
                    f"rollout_{rollout.state}",
                    f"rollout of generation {rollout.generation}: {rollout.message}",
                    None,
                    spec.spec_hash if spec is not None else None,
                )
        else:
            self._rollouts.pop(agent_id, None)
        self._changed(agent_id)

    def _replica_events(
        self, agent_id: uuid.UUID, old: ReplicaStatus | None, new: ReplicaStatus
    ) -> None:
        def emit(kind: str, message: str) -> None:
            self._emit(agent_id, kind, message, new.name, new.spec_hash)

        version = f"version {new.version}" if new.version else "a replica"
        if old is None:
            emit("replica_started", f"pod {new.name} created ({version})")
        if new.restarts > (old.restarts if old else 0):
            code = new.last_exit_code
            reason = f" ({new.last_exit_reason})" if new.last_exit_reason else ""
            emit(
                "replica_exited",
                f"pod {new.name}: the container exited with code {code}{reason}; restart "
                f"{new.restarts}",
            )
        if new.phase is ReplicaPhase.crash_loop and (old is None or old.phase != new.phase):
            emit("replica_crash_loop", f"pod {new.name}: {new.message}")
        if new.ready and not (old and old.ready):
            emit("replica_ready", f"pod {new.name} is ready")
        if (
            old is not None
            and old.ready
            and not new.ready
            and new.phase is not ReplicaPhase.terminating
        ):
            emit("replica_unready", f"pod {new.name} is no longer ready")
        if new.phase is ReplicaPhase.terminating and (old is None or old.phase != new.phase):
            emit("replica_stopping", f"pod {new.name} is terminating")

    # --- events and listeners --------------------------------------------------------------

    def _emit(
        self,
        agent_id: uuid.UUID,
        kind: str,
        message: str,
        replica: str | None,
        spec_hash: str | None,
    ) -> None:
        self._seq += 1
        event = DriverEvent(
            seq=self._seq,
            at=_now(),
            agent_id=agent_id,
            kind=kind,
            message=message,
            replica=replica,
            spec_hash=spec_hash,
        )
        events = self._events.get(agent_id)
        if events is None:
            events = self._events[agent_id] = deque(maxlen=EVENTS_PER_WORKLOAD)
        events.append(event)

    def _changed(self, agent_id: uuid.UUID) -> None:
        for listener in list(self._listeners):
            try:
                listener(agent_id)
            except Exception:
                log.exception("fleet change listener failed")


def _service_fields(doc: dict[str, Any]) -> tuple[Any, ...]:
    spec = doc.get("spec") or {}
    ports = [
        (p.get("name"), p.get("port"), p.get("targetPort"), p.get("protocol", "TCP"))
        for p in spec.get("ports") or []
    ]
    return (spec.get("type", "ClusterIP"), spec.get("selector"), ports)
