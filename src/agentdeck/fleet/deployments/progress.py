"""How a deployment moves on: started, its replicas' events recorded, completed when every
desired replica runs the new spec and is ready, rolled back when they are not ready in time.

The fleet loop calls :func:`advance` for each active deployment with what the driver observes.
An automatic rollback puts the spec, version, config and replica count the deployment replaced
back on the workload and the agent; the driver then rolls the replicas back by the same
strategy (with ``rolling``, the failing new replicas are not ready, so they go first). If there
was nothing before (the agent's first spec) the deployment fails instead and the agent shows
its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from agentdeck.agents.models import Agent
from agentdeck.db.base import utcnow
from agentdeck.fleet.driver import DriverEvent, WorkloadSpec, WorkloadStatus
from agentdeck.fleet.models import (
    Deployment,
    DeploymentPhase,
    DeploymentStatus,
    Transition,
    Workload,
)

MAX_EVENTS = 500
#: Event kinds of the driver worth keeping in a deployment's history.
DRIVER_KINDS = frozenset(
    {
        "workload_applied",
        "replica_started",
        "replica_ready",
        "replica_unready",
        "replica_exited",
        "replica_failed",
        "replica_crash_loop",
        "replica_stopping",
        "replica_killed",
        "replica_stopped",
        "replica_adopted",
        "rollout_progressing",
        "rollout_complete",
        "rollout_failed",
    }
)


def add_event(
    deployment: Deployment,
    kind: str,
    message: str,
    *,
    at: datetime | None = None,
    replica: str | None = None,
    spec_hash: str | None = None,
) -> None:
    event: dict[str, Any] = {
        "at": (at or utcnow()).isoformat(),
        "kind": kind,
        "message": message,
        "replica": replica,
        "spec_hash": spec_hash,
    }
    deployment.events = [*(deployment.events or []), event][-MAX_EVENTS:]


def finish(
    deployment: Deployment,
    status: DeploymentStatus,
    *,
    kind: str,
    message: str,
    error: str | None = None,
) -> None:
    deployment.status = status
    deployment.phase = DeploymentPhase.done
    deployment.completed_at = utcnow()
    deployment.active_agent_id = None
    if error is not None:
        deployment.error = error[:4000]
    add_event(deployment, kind, message)


def _progress(deployment: Deployment, status: WorkloadStatus | None) -> dict[str, int]:
    if status is None:
        return {"desired": deployment.replicas, "updated": 0, "ready": 0}
    mine = [r for r in status.live if r.spec_hash == deployment.spec_hash]
    return {
        "desired": deployment.replicas,
        "updated": sum(1 for r in mine if r.phase.value != "terminating"),
        "ready": sum(1 for r in mine if r.ready),
    }


def restore_previous(deployment: Deployment, workload: Workload, agent: Agent) -> None:
    """Put back what the deployment replaced (its spec, version, config, replica count)."""
    assert deployment.previous_spec is not None
    spec = WorkloadSpec.from_json(deployment.previous_spec)
    workload.spec = dict(deployment.previous_spec)
    workload.spec_hash = spec.spec_hash
    workload.restart_generation = spec.restart_generation
    workload.running = True
    workload.transition = Transition.deploying
    workload.updated_at = utcnow()
    if deployment.previous_version is not None:
        agent.version = deployment.previous_version
    if deployment.previous_config is not None:
        agent.config = dict(deployment.previous_config)
    if deployment.previous_replicas:
        agent.replica_count = deployment.previous_replicas
    agent.revision += 1
    agent.updated_at = utcnow()


def advance(
    deployment: Deployment,
    *,
    workload: Workload,
    agent: Agent,
    status: WorkloadStatus | None,
    events: Sequence[DriverEvent],
    now: datetime,
    breach: str | None = None,
) -> str | None:
    """One look at an active deployment; the action to publish when something changed.

    ``breach``: why the error-rate guard wants the rollout undone (see ``guard``)."""
    action: str | None = None
    if deployment.status is DeploymentStatus.pending:
        deployment.status = DeploymentStatus.in_progress
        deployment.started_at = now
        add_event(
            deployment,
            "started",
            f"rolling out version {deployment.version} to {deployment.replicas} replicas "
            f"({deployment.strategy.value})",
        )
        action = "progress"
    for event in events:
        if event.kind in DRIVER_KINDS:
            add_event(
                deployment,
                event.kind,
                event.message,
                at=event.at,
                replica=event.replica,
                spec_hash=event.spec_hash,
            )
            action = "progress"
    progress = _progress(deployment, status)
    if progress != deployment.progress:
        deployment.progress = progress
        action = "progress"
    started = deployment.started_at or now
    deadline = timedelta(seconds=deployment.deadline_seconds)
    settled = status is not None and status.settled and status.spec_hash == workload.spec_hash
    if deployment.phase is DeploymentPhase.rolling_out:
        if settled and workload.spec_hash == deployment.spec_hash:
            finish(
                deployment,
                DeploymentStatus.completed,
                kind="completed",
                message=f"version {deployment.version} runs on {deployment.replicas} ready "
                "replicas",
            )
            return "completed"
        if breach is not None:
            add_event(deployment, "error_rate_exceeded", breach)
            return _give_up(deployment, workload=workload, agent=agent, error=breach)
        failed = (
            status.rollout_failed
            if status is not None and status.spec_hash == deployment.spec_hash
            else None
        )
        ready = f"{progress.get('ready', 0)} of {deployment.replicas} new replicas"
        if failed:  # the driver says the rollout failed (Kubernetes: ProgressDeadlineExceeded)
            error = f"the rollout failed with {ready} ready: {failed}"
            if status is not None and status.error and status.error != failed:
                error += f": {status.error}"
            add_event(deployment, "rollout_failed", error)
            return _give_up(deployment, workload=workload, agent=agent, error=error)
        if now - started > deadline:
            error = f"{ready} were ready within {deployment.deadline_seconds:g} s"
            if status is not None and status.error:
                error += f": {status.error}"
            add_event(deployment, "deadline_exceeded", error)
            return _give_up(deployment, workload=workload, agent=agent, error=error)
    elif deployment.phase is DeploymentPhase.rolling_back:
        if settled:
            finish(
                deployment,
                DeploymentStatus.rolled_back,
                kind="rolled_back",
                message=f"rolled back to version {deployment.previous_version}",
            )
            return "rolled_back"
        if now - started > 2 * deadline:
            finish(
                deployment,
                DeploymentStatus.failed,
                kind="failed",
                message="the rollback did not become ready in time either",
                error=(deployment.error or "") + "; the rollback did not become ready either",
            )
            return "failed"
    return action


def _give_up(deployment: Deployment, *, workload: Workload, agent: Agent, error: str) -> str:
    """Roll back to what the deployment replaced; fail it when it replaced nothing."""
    if deployment.previous_spec is None:
        finish(
            deployment,
            DeploymentStatus.failed,
            kind="failed",
            message="nothing to roll back to (the agent's first spec)",
            error=error,
        )
        return "failed"
    deployment.error = error[:4000]
    deployment.phase = DeploymentPhase.rolling_back
    restore_previous(deployment, workload, agent)
    add_event(
        deployment,
        "rolling_back",
        f"rolling back automatically to version {deployment.previous_version}",
    )
    return "rolling_back"
