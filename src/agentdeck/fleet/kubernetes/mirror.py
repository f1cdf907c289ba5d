"""What the driver knows of the cluster: the Deployments and pods labelled
``app.kubernetes.io/managed-by=agentdeck`` in the namespace, listed at start and then followed
by watches that resume from the last ``resourceVersion`` (a 410 Gone lists again).

Events are made by comparing what the watches deliver with what was seen before: pods created,
ready, unready, restarted (``replica_exited``), in CrashLoopBackOff, terminating and gone, and
the rollout's progress (``rollout_progressing``, ``rollout_complete``, ``rollout_failed``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from agentdeck.fleet.driver import ReplicaPhase, ReplicaStatus, Strategy, WorkloadSpec
from agentdeck.fleet.journal import Journal
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.api import Kind, Kube, KubeError
from agentdeck.fleet.kubernetes.observe import replica_of, rollout_of

log = structlog.get_logger(__name__)

RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
MANAGED = manifests.selector_text({manifests.MANAGED_BY: manifests.MANAGER})


def resource_version(doc: dict[str, Any] | None) -> str:
    return str(((doc or {}).get("metadata") or {}).get("resourceVersion") or "")


def newer(candidate: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether ``candidate`` is at least as new as ``current`` (resource versions are opaque,
    but etcd's are integers; anything else counts as newer)."""
    a, b = resource_version(candidate), resource_version(current)
    if a.isdigit() and b.isdigit():
        return int(a) >= int(b)
    return True


class ClusterMirror:
    """The managed Deployments and pods as the watches last said, by agent.

    ``spec_of`` answers the spec the driver holds for an agent (its wish, else what the
    cluster runs): rollout events carry its hash."""

    def __init__(
        self,
        kube: Kube,
        journal: Journal,
        spec_of: Callable[[uuid.UUID], WorkloadSpec | None],
    ) -> None:
        self.kube = kube
        self.journal = journal
        self.spec_of = spec_of
        self.deployments: dict[uuid.UUID, dict[str, Any]] = {}
        self.pods: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
        self.synced: dict[Kind, asyncio.Event] = {}
        self.watch_error: str | None = None
        self._seen: dict[uuid.UUID, dict[str, ReplicaStatus]] = {}
        self._rollouts: dict[uuid.UUID, tuple[int, str]] = {}

    def spec_in_cluster(self, agent_id: uuid.UUID) -> WorkloadSpec | None:
        deployment = self.deployments.get(agent_id)
        return manifests.spec_of(deployment) if deployment is not None else None

    def strategy_in_cluster(self, agent_id: uuid.UUID) -> Strategy:
        deployment = self.deployments.get(agent_id) or {}
        kind = ((deployment.get("spec") or {}).get("strategy") or {}).get("type")
        return Strategy.recreate if kind == "Recreate" else Strategy.rolling

    def live_pods(self) -> int:
        """Pods of every agent that are not being deleted."""
        return sum(
            1
            for pods in self.pods.values()
            for pod in pods.values()
            if not (pod.get("metadata") or {}).get("deletionTimestamp")
        )

    def store_deployment(self, doc: dict[str, Any]) -> None:
        agent_id = manifests.agent_id_of(doc)
        if agent_id is None or doc.get("kind") not in (None, "Deployment"):
            return
        if newer(doc, self.deployments.get(agent_id)):
            self.deployments[agent_id] = doc
            self._observed(agent_id)

    # --- watching --------------------------------------------------------------------------

    async def watch(self, kind: Kind) -> None:
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
                    self.synced[kind].set()
                async for event in self.kube.watch(kind, MANAGED, version):
                    obj = event.get("object") or {}
                    version = resource_version(obj) or version
                    if event.get("type") != "BOOKMARK":
                        self._event(kind, str(event.get("type")), obj)
                self.watch_error = None
                delay = RETRY_INITIAL_SECONDS
            except KubeError as exc:
                if exc.status == 410:  # Gone: the version is too old to resume from
                    version = None
                    continue
                self.watch_error = str(exc)
                log.info("fleet: kubernetes watch interrupted", kind=kind, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                if exc.status == 0:
                    version = None  # after an outage, list again rather than trust the gap
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a malformed answer must not end the watch for good
                self.watch_error = f"{type(exc).__name__}: {exc}"
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
            touched = set(self.deployments) | set(fresh)
            self.deployments = fresh
        else:
            pods: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
            for item in items:
                agent_id = manifests.agent_id_of(item)
                if agent_id is not None:
                    pods.setdefault(agent_id, {})[str(item["metadata"]["name"])] = item
            touched = set(self.pods) | set(pods)
            self.pods = pods
        for agent_id in touched:
            self._observed(agent_id)

    def _event(self, kind: Kind, kind_of_event: str, obj: dict[str, Any]) -> None:
        agent_id = manifests.agent_id_of(obj)
        if agent_id is None:
            return
        if kind == "deployments":
            if kind_of_event == "DELETED":
                current = self.deployments.get(agent_id)
                if current is not None and resource_version(obj) and not newer(obj, current):
                    return  # an older object of the same agent (a rename) went
                self.deployments.pop(agent_id, None)
            else:
                if not newer(obj, self.deployments.get(agent_id)):
                    return
                self.deployments[agent_id] = obj
        else:
            name = str(obj["metadata"]["name"])
            pods = self.pods.setdefault(agent_id, {})
            if kind_of_event == "DELETED":
                pods.pop(name, None)
                if not pods:
                    self.pods.pop(agent_id, None)
            else:
                pods[name] = obj
        self._observed(agent_id)

    def _observed(self, agent_id: uuid.UUID) -> None:
        """Turn what changed for the agent into events, and tell the listeners."""
        spec = self.spec_of(agent_id)
        before = self._seen.get(agent_id, {})
        now = {name: replica_of(pod) for name, pod in self.pods.get(agent_id, {}).items()}
        for name, replica in now.items():
            self._replica_events(agent_id, before.get(name), replica)
        for name, replica in before.items():
            if name not in now:
                self.journal.emit(
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
        deployment = self.deployments.get(agent_id)
        if deployment is not None:
            rollout = rollout_of(deployment)
            key = (rollout.generation, rollout.state)
            if self._rollouts.get(agent_id) != key and rollout.state != "observed":
                self._rollouts[agent_id] = key
                self.journal.emit(
                    agent_id,
                    f"rollout_{rollout.state}",
                    f"rollout of generation {rollout.generation}: {rollout.message}",
                    None,
                    spec.spec_hash if spec is not None else None,
                )
        else:
            self._rollouts.pop(agent_id, None)
        self.journal.changed(agent_id)

    def _replica_events(
        self, agent_id: uuid.UUID, old: ReplicaStatus | None, new: ReplicaStatus
    ) -> None:
        def emit(kind: str, message: str) -> None:
            self.journal.emit(agent_id, kind, message, new.name, new.spec_hash)

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
