"""The fleet loop: drives what should run to the driver, and records what it observes.

Each tick (every ``fleet.reconcile_interval_seconds``, and at once when the driver reports a
change) reads every managed agent's workload, hands the driver the ones whose spec, replica
count, strategy or running wish changed since it last did, removes the driver's workloads of
agents that are gone, and then, agent by agent, records the observation: the agent's status,
ready count and detail, its replica rows, and the progress of its deployment (completion,
automatic rollback at the deadline). It is leased: one process of a deployment of agentdeck
runs it.

Writes are guarded, each agent in its own short transaction: the agent's row only if its
revision is still the one read, the workload's only if it was not changed meanwhile, the
deployment's only if its status and phase are the ones read. A request that changed any of
them in between wins, and the next tick (woken at once) looks again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import CursorResult, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.audit.service import record
from agentdeck.bus.base import Bus
from agentdeck.db.base import Base, utcnow
from agentdeck.fleet.credentials import AgentCredentials
from agentdeck.fleet.deployments.guard import breach
from agentdeck.fleet.deployments.progress import advance
from agentdeck.fleet.deployments.schemas import DeploymentSummary
from agentdeck.fleet.driver import Driver, WorkloadSpec, WorkloadStatus
from agentdeck.fleet.events import publish_agent, publish_deployment
from agentdeck.fleet.models import (
    ACTIVE_DEPLOYMENT,
    Deployment,
    DeploymentPhase,
    ReplicaRow,
    Workload,
)
from agentdeck.fleet.observe import Fingerprint, fingerprint, observe, replica_rows
from agentdeck.identity.service import system_principal
from agentdeck.loops.base import Loop
from agentdeck.tsdb.base import Store

log = structlog.get_logger(__name__)

FLEET_ACTOR = "fleet"
#: How often a rollout's error-rate guard queries the metrics store.
GUARD_SECONDS = 2.0
_AUDITED_DEPLOYMENT_ACTIONS = frozenset({"completed", "failed", "rolled_back", "rolling_back"})


def _values(row: Base) -> dict[str, Any]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


async def _guarded_update(
    session: AsyncSession,
    row: Base,
    before: dict[str, Any],
    *,
    guard: tuple[str, ...],
    extra: dict[str, Any] | None = None,
) -> bool:
    """Write the columns of ``row`` that changed since ``before``, only if its primary key and
    ``guard`` columns still hold the values read; True when written (or nothing changed)."""
    model = type(row)
    after = _values(row)
    changes = {k: v for k, v in after.items() if before[k] != v}
    if not changes:
        return True
    changes.update(extra or {})
    mapper = inspect(model)
    keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    stmt = (
        update(model)
        .where(*(getattr(model, k) == before[k] for k in keys))
        .where(*(getattr(model, g) == before[g] for g in guard))
        .values({getattr(model, k): v for k, v in changes.items()})
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(isinstance(result, CursorResult) and result.rowcount == 1)


def _cursor(deployment: Deployment, epoch: str) -> int:
    stored_epoch, _, seq = (deployment.event_cursor or "").partition(":")
    return int(seq) if stored_epoch == epoch and seq.isdigit() else 0


class FleetLoop(Loop):
    name = "fleet"
    lease = True
    initial_delay = 0.0

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        driver: Driver,
        bus: Bus | None,
        interval: float,
        store: Store | None = None,
        credentials: AgentCredentials | None = None,
    ) -> None:
        self.sessions = sessions
        self.credentials = credentials
        self.driver = driver
        self.bus = bus
        self.store = store
        self.interval = interval
        self._guarded: dict[uuid.UUID, float] = {}
        self._applied: dict[uuid.UUID, tuple[object, ...]] = {}
        self._seen: dict[uuid.UUID, Fingerprint] = {}
        driver.add_listener(lambda _agent_id: self.wake())

    async def tick(self) -> None:
        if not self.driver.capabilities().active:
            return
        async with self.sessions() as session:
            result = await session.execute(
                select(Workload, Agent).join(Agent, Agent.id == Workload.agent_id)
            )
            pairs: list[tuple[Workload, Agent]] = [(w, a) for w, a in result.all()]
            deployments = {
                d.agent_id: d
                for d in await session.scalars(
                    select(Deployment).where(Deployment.status.in_(ACTIVE_DEPLOYMENT))
                )
            }
            session.expunge_all()  # detached: changes below are written by guarded updates
        known = {agent.id for _, agent in pairs}
        for workload, agent in pairs:
            await self._drive(workload, agent)
        for agent_id in await self.driver.workloads():
            if agent_id not in known:
                log.info("fleet: removing the workload of a deleted agent", agent_id=str(agent_id))
                await self.driver.delete(agent_id)
                if self.credentials is not None:
                    self.credentials.forget(agent_id)
                self._applied.pop(agent_id, None)
                self._seen.pop(agent_id, None)
        for workload, agent in pairs:
            try:
                await self._observe(workload, agent, deployments.get(agent.id))
            except Exception:  # one agent's trouble must not keep the others unobserved
                log.exception("fleet: observing an agent failed", agent_id=str(agent.id))

    async def _drive(self, workload: Workload, agent: Agent) -> None:
        running = workload.running and bool(workload.spec)
        replicas = agent.replica_count if running else 0
        key = (workload.spec_hash, replicas, workload.strategy, running)
        if self._applied.get(agent.id) == key:
            return
        if running:
            spec = WorkloadSpec.from_json(workload.spec)
            if self.credentials is not None:
                await self.credentials.ensure(agent)  # its telemetry key, before it starts
            await self.driver.apply(spec, replicas=replicas, strategy=workload.strategy)
        else:
            await self.driver.stop(agent.id)
        self._applied[agent.id] = key

    async def _observe(
        self, workload: Workload, agent: Agent, deployment: Deployment | None
    ) -> None:
        status = await self.driver.status(agent.id)
        now = utcnow()
        agent_before, workload_before = _values(agent), _values(workload)
        deployment_before = _values(deployment) if deployment is not None else None
        action = None
        if deployment is not None:
            after = _cursor(deployment, self.driver.epoch)
            events = [
                e
                for e in await self.driver.events(agent.id, after=after)
                if e.at >= deployment.created_at
            ]
            action = advance(
                deployment,
                workload=workload,
                agent=agent,
                status=status,
                events=events,
                now=now,
                breach=await self._guard(deployment, agent, now),
            )
            if events:
                deployment.event_cursor = f"{self.driver.epoch}:{events[-1].seq}"
            if deployment.status not in ACTIVE_DEPLOYMENT:
                workload.deployment_id = None
                self._guarded.pop(deployment.id, None)
        seen = observation = observe(workload, agent, status)
        if seen.settled and workload.transition is not None:
            workload.transition = None
        previous_status = agent_before["status"]
        agent.status = observation.status
        agent.ready_replicas = observation.ready
        agent.status_detail = observation.detail
        prints = fingerprint(status)
        unchanged = (
            _values(agent) == agent_before
            and _values(workload) == workload_before
            and (deployment is None or _values(deployment) == deployment_before)
            and self._seen.get(agent.id) == prints
        )
        if unchanged:
            return  # nothing to write: no transaction at all (the idle fleet costs no commits)
        publish: list[Callable[[], None]] = []
        async with self.sessions() as session:
            ok = await _guarded_update(
                session,
                agent,
                agent_before,
                guard=("revision",),
                extra={
                    "revision": agent_before["revision"] + 1,
                    "updated_at": now,
                    "last_health_check": now,
                },
            )
            ok = ok and await _guarded_update(
                session, workload, workload_before, guard=("updated_at",)
            )
            if deployment is not None and deployment_before is not None:
                ok = ok and await _guarded_update(
                    session, deployment, deployment_before, guard=("status", "phase")
                )
            if not ok:
                await session.rollback()
                self.wake()  # someone changed it meanwhile: look again soon
                return
            if _values(agent) != agent_before:
                agent.revision = agent_before["revision"] + 1
                publish.append(self._agent_message(agent, previous_status))
            if agent.status != previous_status:
                await record(
                    session,
                    actor=system_principal(agent.tenant_id, FLEET_ACTOR),
                    action="agent.status",
                    resource_type="agent",
                    resource_id=agent.id,
                    before={"status": previous_status},
                    after={"status": agent.status, "detail": agent.status_detail},
                )
            if deployment is not None and action is not None:
                if action in _AUDITED_DEPLOYMENT_ACTIONS:
                    await record(
                        session,
                        actor=system_principal(agent.tenant_id, FLEET_ACTOR),
                        action=f"deployment.{action}",
                        resource_type="deployment",
                        resource_id=deployment.id,
                        after={"status": deployment.status, "error": deployment.error},
                    )
                publish.append(self._deployment_message(deployment, action))
            if self._seen.get(agent.id) != prints:
                await self._write_replicas(session, agent, status, now)
            await session.commit()
        self._seen[agent.id] = prints
        if action in ("rolling_back", "completed", "rolled_back", "failed"):
            self.wake()  # a restored spec is handed to the driver on the next tick
        for message in publish:
            message()

    async def _guard(self, deployment: Deployment, agent: Agent, now: datetime) -> str | None:
        """The error-rate guard's verdict, looked at every ``GUARD_SECONDS`` per rollout."""
        limit = deployment.max_error_rate
        if (
            limit is None
            or self.store is None
            or deployment.phase is not DeploymentPhase.rolling_out
            or deployment.started_at is None
        ):
            return None
        clock = time.monotonic()
        if clock - self._guarded.get(deployment.id, 0.0) < GUARD_SECONDS:
            return None
        self._guarded[deployment.id] = clock
        try:
            return await breach(
                self.store,
                tenant_id=agent.tenant_id,
                agent=agent.name,
                since=deployment.started_at,
                now=now,
                limit=limit,
            )
        except Exception:  # no verdict is no rollback; the deadline still applies
            log.exception("fleet: the error-rate guard failed", deployment_id=str(deployment.id))
            return None

    async def _write_replicas(
        self, session: AsyncSession, agent: Agent, status: WorkloadStatus | None, now: Any
    ) -> None:
        await session.execute(delete(ReplicaRow).where(ReplicaRow.agent_id == agent.id))
        session.add_all(replica_rows(agent, status, now))
        await session.flush()

    def _agent_message(self, agent: Agent, previous: AgentStatus) -> Callable[[], None]:
        action = "status" if agent.status != previous else "health"
        return lambda: publish_agent(self.bus, agent, action=action, previous_status=previous)

    def _deployment_message(self, deployment: Deployment, action: str) -> Callable[[], None]:
        summary = DeploymentSummary.of(deployment).model_dump(mode="json")
        return lambda: publish_deployment(self.bus, deployment, action=action, summary=summary)
