"""From what the driver observes to the agent's status, ready count and replica rows.

The status, for an agent the fleet manages:

- ``stopped`` when it should not run (its replicas may still be on their way out);
- ``error`` when replicas of its current spec are in a crash loop (or cannot start) and none
  is ready, or no transition is under way; ``detail`` then carries the reason with the last
  stderr lines;
- ``deploying`` / ``scaling`` while the transition a start, restart, deployment or scale began
  has not settled (every desired replica on the current spec and ready, nothing else left);
- ``running`` otherwise (``health.replicas.ready`` tells how many serve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.fleet.driver import ReplicaPhase, WorkloadStatus
from agentdeck.fleet.models import ReplicaRow, Workload

Fingerprint = tuple[tuple[object, ...], ...]


@dataclass(frozen=True, slots=True)
class Observation:
    status: AgentStatus
    ready: int
    detail: str | None
    settled: bool


def observe(workload: Workload, agent: Agent, status: WorkloadStatus | None) -> Observation:
    ready = status.ready if status is not None else 0
    if not workload.running:
        return Observation(AgentStatus.stopped, ready, None, True)
    if status is None:  # not handed to the driver yet
        return Observation(agent.status, 0, agent.status_detail, False)
    settled = (
        status.spec_hash == workload.spec_hash
        and status.desired == agent.replica_count
        and status.settled
    )
    transition = None if settled else workload.transition
    detail = status.error[:4000] if status.error else None
    if detail is not None and (transition is None or ready == 0):
        return Observation(AgentStatus.error, ready, detail, settled)
    if transition is not None:
        return Observation(AgentStatus(transition.value), ready, detail, settled)
    return Observation(AgentStatus.running, ready, detail, settled)


def replica_rows(agent: Agent, status: WorkloadStatus | None, now: datetime) -> list[ReplicaRow]:
    if status is None:
        return []
    return [
        ReplicaRow(
            agent_id=agent.id,
            name=r.name,
            tenant_id=agent.tenant_id,
            version=r.version,
            spec_hash=r.spec_hash,
            phase=r.phase.value,
            ready=r.ready,
            pid=r.pid,
            pod=r.pod,
            port=r.port,
            started_at=r.started_at,
            restarts=r.restarts,
            last_exit_code=r.last_exit_code,
            last_exit_at=r.last_exit_at,
            last_exit_reason=(r.last_exit_reason or None) and r.last_exit_reason[:500],
            message=(r.message or None) and r.message[:4000],
            adopted=r.adopted,
            observed_at=now,
        )
        for r in status.replicas
        if r.phase is not ReplicaPhase.stopped
    ]


def fingerprint(status: WorkloadStatus | None) -> Fingerprint:
    """What the replica rows show, to write them only when it changed."""
    if status is None:
        return ()
    return tuple(
        (
            r.name,
            r.phase,
            r.ready,
            r.pid,
            r.port,
            r.restarts,
            r.last_exit_at,
            r.message,
            r.adopted,
        )
        for r in sorted(status.replicas, key=lambda r: r.name)
        if r.phase is not ReplicaPhase.stopped
    )
