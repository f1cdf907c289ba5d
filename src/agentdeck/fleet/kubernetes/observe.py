"""What a Deployment and its pods say, in the driver protocol's words.

The rollout, as ``kubectl rollout status`` reads it:

- the controller has not seen the newest spec while ``status.observedGeneration`` is below
  ``metadata.generation``;
- it is complete when every desired replica is updated and available and no old one is left
  (``updatedReplicas == replicas == availableReplicas == status.replicas``);
- it failed when the ``Progressing`` condition is False with reason
  ``ProgressDeadlineExceeded`` (no progress for ``progressDeadlineSeconds``).

Replicas are the pods: their ``agentdeck.io/spec-hash`` label says which spec each runs, their
Ready condition whether they serve, their container state why not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentdeck.fleet.driver import ReplicaPhase, ReplicaStatus, WorkloadStatus
from agentdeck.fleet.kubernetes.manifests import (
    PORT_NAME,
    SPEC_HASH,
    VERSION_ANNOTATION,
)

DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
#: Waiting reasons of a container that will not start by itself.
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True, slots=True)
class Rollout:
    generation: int
    observed_generation: int
    desired: int
    replicas: int
    updated: int
    ready: int
    available: int
    #: ``observed``, ``progressing``, ``complete``, ``failed``
    state: str
    message: str

    @property
    def observed(self) -> bool:
        return self.observed_generation >= self.generation


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def condition(doc: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for item in (doc.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None


def rollout_of(deployment: Mapping[str, Any]) -> Rollout:
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = int(meta.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    desired = int(spec.get("replicas", 1))
    replicas = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    progressing = condition(deployment, "Progressing") or {}
    if observed < generation:
        state, message = "observed", "waiting for the deployment controller to see the new spec"
    elif progressing.get("reason") == DEADLINE_EXCEEDED and progressing.get("status") == "False":
        state = "failed"
        message = f"{DEADLINE_EXCEEDED}: {progressing.get('message') or 'no progress in time'}"
    elif updated == desired and replicas == updated and available == updated:
        state, message = "complete", f"{available} of {desired} replicas updated and available"
    else:
        state = "progressing"
        message = f"{updated} of {desired} updated, {available} available, {replicas - updated} old"
    return Rollout(
        generation=generation,
        observed_generation=observed,
        desired=desired,
        replicas=replicas,
        updated=updated,
        ready=ready,
        available=available,
        state=state,
        message=message,
    )


def _container(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return dict(statuses[0]) if statuses else {}


def _port(pod: Mapping[str, Any]) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == PORT_NAME:
                return int(port["containerPort"])
    return None


def _ready(pod: Mapping[str, Any]) -> bool:
    return (condition(pod, "Ready") or {}).get("status") == "True"


def replica_of(pod: Mapping[str, Any]) -> ReplicaStatus:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    container = _container(pod)
    state = container.get("state") or {}
    waiting = state.get("waiting") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    ready = _ready(pod)
    message: str | None = None
    if meta.get("deletionTimestamp"):
        phase = ReplicaPhase.terminating
    elif status.get("phase") in ("Succeeded", "Failed"):
        phase = ReplicaPhase.stopped
        message = status.get("reason") or status.get("message")
    elif waiting.get("reason") == "CrashLoopBackOff":
        phase = ReplicaPhase.crash_loop
    elif waiting:
        phase = ReplicaPhase.pending
    elif status.get("phase") == "Running" and state.get("running"):
        phase = ReplicaPhase.ready if ready else ReplicaPhase.starting
    else:
        phase = ReplicaPhase.pending
    if waiting.get("reason"):
        message = waiting["reason"] + (f": {waiting['message']}" if waiting.get("message") else "")
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return ReplicaStatus(
        name=str(meta.get("name")),
        spec_hash=str(labels.get(SPEC_HASH) or ""),
        version=str(annotations.get(VERSION_ANNOTATION) or ""),
        phase=phase,
        ready=ready and phase is ReplicaPhase.ready,
        pod=str(meta.get("name")),
        port=_port(pod),
        started_at=_time(status.get("startTime")),
        restarts=int(container.get("restartCount") or 0),
        last_exit_code=last.get("exitCode"),
        last_exit_at=_time(last.get("finishedAt")),
        last_exit_reason=last.get("reason"),
        message=message,
    )


def _stuck(replicas: Iterable[ReplicaStatus], spec_hash: str | None) -> str | None:
    """Why the current spec's pods do not start, when none of them is ready."""
    current = [r for r in replicas if r.spec_hash == spec_hash]
    if not current or any(r.ready for r in current):
        return None
    for replica in current:
        reason = (replica.message or "").split(":", 1)[0]
        if reason in STUCK_REASONS:
            exit_part = ""
            if replica.last_exit_code is not None:
                exit_part = f", last exit code {replica.last_exit_code}"
                if replica.last_exit_reason:
                    exit_part += f" ({replica.last_exit_reason})"
            return f"pod {replica.name}: {replica.message}{exit_part}"
    return None


def workload_status(
    agent_id: uuid.UUID, deployment: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]
) -> WorkloadStatus:
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    spec_hash = annotations.get(SPEC_HASH)
    rollout = rollout_of(deployment)
    replicas = tuple(sorted((replica_of(p) for p in pods), key=lambda r: r.name))
    failed = rollout.message if rollout.state == "failed" else None
    error = _stuck(replicas, spec_hash)
    if failed:
        error = f"{failed}; {error}" if error else failed
    return WorkloadStatus(
        agent_id=agent_id,
        spec_hash=spec_hash,
        desired=rollout.desired,
        replicas=replicas,
        error=error,
        rollout_failed=failed,
    )
