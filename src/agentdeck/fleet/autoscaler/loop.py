"""The autoscaler loop (leased): every ``fleet.autoscaler.interval_seconds`` it evaluates each
running agent with ``config.auto_scaling.enabled``.

For one agent: its CPU over the last 10 minutes comes from the metrics store through the query
service (``avg(avg_over_time(agent_cpu_percent{agent="<name>"}[10m]))``: each replica's
samples averaged over the window, then across replicas), the rule decides
(:mod:`agentdeck.fleet.autoscaler.rule`), a scale goes through the fleet's own ``scale``
(audited as the ``autoscaler``, refused while a deployment rolls out), and the decision is
recorded with its reason and published on the agent's ``agent:<id>`` channel as
``{"action": "autoscaler", "decision": …}``. The clock is injectable so a test drives
:meth:`AutoscalerLoop.evaluate` at chosen times.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.agents.models import Agent
from agentdeck.bus.base import Bus
from agentdeck.db.base import utcnow
from agentdeck.errors import DomainError
from agentdeck.fleet import service as fleet_service
from agentdeck.fleet.autoscaler import service
from agentdeck.fleet.autoscaler.models import AutoscalerDecision
from agentdeck.fleet.autoscaler.rule import Bounds, bounds_of, cpu_query, decide
from agentdeck.fleet.autoscaler.schemas import AutoscalerDecisionPublic, Outcome
from agentdeck.fleet.driver import Driver
from agentdeck.fleet.events import publish_agent
from agentdeck.fleet.models import Workload
from agentdeck.identity.service import system_principal
from agentdeck.loops.base import Loop
from agentdeck.query import service as query_service
from agentdeck.realtime.publish import spawn
from agentdeck.settings import AutoscalerSettings
from agentdeck.tsdb.base import Store

log = structlog.get_logger(__name__)

ACTOR = "autoscaler"


class AutoscalerLoop(Loop):
    name = "autoscaler"
    lease = True
    jitter = 0.0

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: Store,
        driver: Driver,
        bus: Bus | None,
        settings: AutoscalerSettings,
        on_scale: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.driver = driver
        self.bus = bus
        self.settings = settings
        self.interval = settings.interval_seconds
        self.on_scale = on_scale
        self.clock = clock

    async def tick(self) -> None:
        started = time.monotonic()
        try:
            now = self.clock()
            for agent_id in await self.candidates():
                try:
                    await self.evaluate(agent_id, now=now)
                except Exception:  # one agent's trouble must not keep the others unevaluated
                    log.exception("autoscaler: evaluating an agent failed", agent_id=str(agent_id))
        finally:
            # a fixed rate: the next tick starts one interval after this one started (the
            # runner waits ``interval`` after a tick ends), so a crossing is seen within one
            self.interval = max(
                self.settings.interval_seconds - (time.monotonic() - started),
                self.settings.interval_seconds / 10,
            )

    async def candidates(self) -> list[uuid.UUID]:
        """Running agents with autoscaling enabled."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Agent.id, Agent.config)
                .join(Workload, Workload.agent_id == Agent.id)
                .where(Workload.running.is_(True))
                .order_by(Agent.id)
            )
            return [agent_id for agent_id, config in rows if bounds_of(config).enabled]

    async def cpu(self, agent: Agent, now: datetime) -> tuple[float | None, str | None]:
        """The agent's average CPU over the window, or None and why not."""
        try:
            data = await query_service.instant_query(
                self.store,
                agent.tenant_id,
                cpu_query(agent.name),
                round(now.timestamp() * 1000),
                self.settings.query_timeout_seconds,
            )
        except Exception as exc:
            return None, f"the CPU query failed: {exc}"
        result = data.get("result") or []
        if data.get("resultType") != "vector" or not result:
            return None, "no agent_cpu_percent samples in the last 10 minutes"
        return float(result[0]["value"][1]), None

    async def evaluate(
        self, agent_id: uuid.UUID, *, now: datetime | None = None
    ) -> AutoscalerDecision | None:
        """Evaluate one agent now; the decision recorded (None: autoscaling is off for it, or
        it does not run)."""
        now = now or self.clock()
        async with self.sessions() as session:
            agent = await session.get(Agent, agent_id, populate_existing=True)
            workload = await fleet_service.get_workload(session, agent_id)
            if agent is None or workload is None or not workload.running:
                return None
            bounds = bounds_of(agent.config)
            if not bounds.enabled:
                return None
            replicas = agent.replica_count
            previous_status = agent.status
            cpu: float | None = None
            scaled = False
            if bounds.problem is not None:
                outcome, target, reason = Outcome.invalid_config, replicas, bounds.problem
            else:
                cpu, missing = await self.cpu(agent, now)
                if cpu is None:
                    outcome, target, reason = Outcome.no_data, replicas, missing or "no data"
                else:
                    outcome, target, reason = await self._act(
                        session, agent, cpu=cpu, replicas=replicas, bounds=bounds, now=now
                    )
                    scaled = outcome in (Outcome.scaled_up, Outcome.scaled_down)
            row, new = await service.record_decision(
                session,
                agent=agent,
                outcome=outcome,
                cpu=cpu,
                replicas=replicas,
                target=target,
                bounds=bounds,
                reason=reason,
                now=now,
                keep=self.settings.decisions_kept_per_agent,
            )
            await session.commit()
            decision = AutoscalerDecisionPublic.of(row).model_dump(mode="json")
        if self.bus is not None:
            spawn(
                self.bus,
                agent.tenant_id,
                f"agent:{agent.id}",
                {
                    "action": "autoscaler",
                    "agent_id": str(agent.id),
                    "new": new,
                    "decision": decision,
                },
            )
        if scaled:
            log.info("autoscaler: scaled", agent_id=str(agent.id), reason=reason)
            publish_agent(self.bus, agent, action="scale", previous_status=previous_status)
            if self.on_scale is not None:
                self.on_scale()
        return row

    async def _act(
        self,
        session: AsyncSession,
        agent: Agent,
        *,
        cpu: float,
        replicas: int,
        bounds: Bounds,
        now: datetime,
    ) -> tuple[Outcome, int, str]:
        verdict = decide(cpu, replicas, bounds)
        if not verdict.scales:
            return Outcome(verdict.outcome), verdict.target, verdict.reason
        busy = await fleet_service.active_deployment(session, agent.id)
        if busy is not None:
            return (
                Outcome.busy,
                replicas,
                f"would scale ({verdict.reason}), but deployment {busy.id} is rolling out",
            )
        last = await service.last_scale_at(session, agent.id)
        cooldown = timedelta(seconds=self.settings.cooldown_seconds)
        if last is not None and now - last < cooldown:
            until = (last + cooldown).isoformat()
            return (
                Outcome.cooldown,
                replicas,
                f"would scale ({verdict.reason}), but in cooldown until {until}",
            )
        try:
            await fleet_service.scale_agent(
                session,
                actor=system_principal(agent.tenant_id, ACTOR),
                agent_id=agent.id,
                replicas=verdict.target,
                driver=self.driver,
            )
        except DomainError as exc:  # raised before it changed anything (checks come first)
            return Outcome.refused, replicas, f"would scale ({verdict.reason}), but: {exc}"
        return Outcome(verdict.outcome), verdict.target, verdict.reason
