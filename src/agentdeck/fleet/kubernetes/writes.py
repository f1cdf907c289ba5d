"""Writing to the cluster: an agent's Deployment (created, replaced optimistically with the
``resourceVersion`` read, or scaled through the ``scale`` subresource when only the count
changed) and its Service; deleting both.

A replace sends the ``resourceVersion`` it read; a 409 (someone changed the object meanwhile)
reads it again and retries, ``CONFLICT_RETRIES`` times before giving up for now.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from agentdeck.fleet.driver import Strategy, WorkloadSpec
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.api import Kube, KubeError
from agentdeck.fleet.kubernetes.mirror import ClusterMirror, resource_version
from agentdeck.settings import FleetKubernetesSettings

MANIFEST_HASH = "agentdeck.io/manifest-hash"
CONFLICT_RETRIES = 5


def manifest_hash(doc: dict[str, Any]) -> str:
    """What the driver wrote into a Deployment, less its replica count: a changed image
    setting or strategy rolls it as a changed spec does."""
    body = json.loads(json.dumps(doc))
    body["spec"].pop("replicas", None)
    body["metadata"].get("annotations", {}).pop(MANIFEST_HASH, None)
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def service_fields(doc: dict[str, Any]) -> tuple[Any, ...]:
    spec = doc.get("spec") or {}
    ports = [
        (p.get("name"), p.get("port"), p.get("targetPort"), p.get("protocol", "TCP"))
        for p in spec.get("ports") or []
    ]
    return (spec.get("type", "ClusterIP"), spec.get("selector"), ports)


class ClusterWriter:
    """Carries specs to the cluster; what it wrote is stored in (and evented by) the mirror."""

    def __init__(
        self, kube: Kube, settings: FleetKubernetesSettings, mirror: ClusterMirror
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.mirror = mirror

    async def push(self, spec: WorkloadSpec, replicas: int, strategy: Strategy) -> None:
        agent_id = spec.agent_id
        name = manifests.object_name(spec.agent_name, agent_id)
        desired = manifests.deployment(
            spec, replicas=replicas, strategy=strategy, settings=self.settings
        )
        desired["metadata"]["annotations"][MANIFEST_HASH] = manifest_hash(desired)
        current = self.mirror.deployments.get(agent_id)
        if current is not None and (current.get("metadata") or {}).get("name") != name:
            current = None  # the agent was renamed: its objects are found by name below
        applied = False
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                current = await self.kube.get_deployment(name)
            if current is None:
                try:
                    self.mirror.store_deployment(await self.kube.create_deployment(desired))
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
                self.mirror.store_deployment(await self._scale(name, replicas))
                applied = True
                break
            body = json.loads(json.dumps(desired))
            body["metadata"]["resourceVersion"] = resource_version(current)
            try:
                self.mirror.store_deployment(await self.kube.replace_deployment(name, body))
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
            self.mirror.journal.emit(
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
            ] and service_fields(current) == service_fields(desired)
            if same:
                return
            body = json.loads(json.dumps(desired))
            body["metadata"]["resourceVersion"] = resource_version(current)
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

    async def remove(self, agent_id: uuid.UUID) -> None:
        deployment = self.mirror.deployments.get(agent_id)
        names = set()
        if deployment is not None:
            names.add(str(deployment["metadata"]["name"]))
        spec = self.mirror.spec_in_cluster(agent_id)
        if spec is not None:
            names.add(manifests.object_name(spec.agent_name, agent_id))
        for name in sorted(names):
            await self.kube.delete_deployment(name)
            await self.kube.delete_service(name)
        self.mirror.journal.emit(
            agent_id, "workload_deleted", "deployment and service deleted", None, None
        )
