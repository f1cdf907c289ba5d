"""The default rule pack every tenant starts with: CPU, memory, error rate and p95 latency,
each as a warning and a critical rule. Thresholds are inclusive (``>=``): a value equal to the
threshold breaches.

Every rule carries a ``signal`` label (``cpu``, ``memory``, ``error_rate``, ``latency``) and the
pack adds the inhibition rule :data:`INHIBITION_NAME`: while an agent's critical alert fires,
the warning of the same signal and agent is muted, so an incident that escalates pages once per
level and not twice at once. Notifications are grouped by the routing tree's ``group_by``;
the pack's rules share the rule group :data:`GROUP`, and ``agent`` plus ``signal`` identify an
incident. A tenant without a routing tree of its own also gets :func:`default_routing_tree`,
Alertmanager's root route with grouping preset: one notification group per alert name and
agent, the default timings written out, and no receiver yet (the tenant picks one on the
routing page, where the tree is shown and edited like any other).

:func:`install_default_pack` adds the rules a tenant lacks (by name) and is idempotent. It runs
when a tenant is created, from ``POST /api/v1/alert-rules/default-pack``, and once per existing
tenant at startup (:func:`backfill_default_packs`); the audit entry ``alert_rule.default_pack``
remembers that a tenant got the pack, so rules a tenant deleted do not come back on restart.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.alerting.models import AlertRule, InhibitionRule, NoDataState, Severity
from agentdeck.alerting.routing import inhibition
from agentdeck.alerting.routing import service as routing
from agentdeck.alerting.routing.matchers import MatcherModel
from agentdeck.alerting.routing.tree import (
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_REPEAT_INTERVAL,
    RoutingTree,
)
from agentdeck.alerting.rules.schemas import AlertRuleCreate, DefaultPackResult, ThresholdForm
from agentdeck.alerting.rules.service import create_rule
from agentdeck.audit.models import AuditEntry
from agentdeck.audit.service import record
from agentdeck.errors import DomainError
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role

log = structlog.get_logger(__name__)

GROUP = "agentdeck-defaults"
PACK_ACTION = "alert_rule.default_pack"
INHIBITION_NAME = "Critical mutes its warning"

# (name suffix, severity, threshold) for each of the four signals.
_LEVELS = (("Warning", Severity.warning), ("Critical", Severity.critical))


def _threshold_rule(
    name: str, severity: Severity, metric: str, threshold: float, what: str, signal: str
) -> AlertRuleCreate:
    return AlertRuleCreate(
        name=name,
        group=GROUP,
        labels={"signal": signal},
        description=f"{what} at or above {threshold:g} % (5 minute average).",
        threshold=ThresholdForm(
            metric_name=metric, aggregation="avg", window="5m", operator=">=", threshold=threshold
        ),
        for_seconds=300,
        severity=severity,
        annotations={
            "summary": f'{what} of {{{{ $labels.agent }}}} is {{{{ $value | printf "%.1f" }}}} %',
            "description": f"{what} averaged over 5 minutes is at or above {threshold:g} %.",
        },
        interval_seconds=60,
        no_data_state=NoDataState.ok,
    )


def _expr_rule(
    name: str, severity: Severity, expr: str, description: str, summary: str, signal: str
) -> AlertRuleCreate:
    return AlertRuleCreate(
        name=name,
        group=GROUP,
        labels={"signal": signal},
        description=description,
        expr=expr,
        for_seconds=300,
        severity=severity,
        annotations={"summary": summary, "description": description},
        interval_seconds=60,
        no_data_state=NoDataState.ok,
    )


def default_pack() -> list[AlertRuleCreate]:
    """The rules of the pack (seed thresholds: CPU 70/90 %, memory 80/95 %, error rate
    5/10 %, p95 latency 1000/3000 ms)."""
    rules: list[AlertRuleCreate] = []
    for (suffix, severity), cpu, memory, errors, latency in zip(
        _LEVELS, (70, 90), (80, 95), (5, 10), (1000, 3000), strict=True
    ):
        rules.append(
            _threshold_rule(f"AgentCPU{suffix}", severity, "agent_cpu_percent", cpu, "CPU", "cpu")
        )
        rules.append(
            _threshold_rule(
                f"AgentMemory{suffix}",
                severity,
                "agent_memory_percent",
                memory,
                "Memory",
                "memory",
            )
        )
        rules.append(
            _expr_rule(
                f"AgentErrorRate{suffix}",
                severity,
                "100 * sum by (agent) (rate(agent_errors_total[5m]))"
                " / sum by (agent) (rate(agent_requests_total[5m]))"
                f" >= {errors}",
                f"Failed requests are at or above {errors} % of requests over 5 minutes.",
                'Error rate of {{ $labels.agent }} is {{ $value | printf "%.1f" }} %',
                "error_rate",
            )
        )
        rules.append(
            _expr_rule(
                f"AgentLatencyP95{suffix}",
                severity,
                "1000 * histogram_quantile(0.95, sum by (agent, le)"
                " (rate(agent_request_duration_seconds_bucket[5m])))"
                f" >= {latency}",
                f"95th percentile request latency is at or above {latency} ms over 5 minutes.",
                'p95 latency of {{ $labels.agent }} is {{ $value | printf "%.0f" }} ms',
                "latency",
            )
        )
    return rules


def default_inhibition() -> inhibition.InhibitionRuleCreate:
    """Critical mutes the warning of the same agent and signal."""
    return inhibition.InhibitionRuleCreate(
        name=INHIBITION_NAME,
        source_matchers=[MatcherModel(name="severity", op="=", value="critical")],
        target_matchers=[MatcherModel(name="severity", op="=", value="warning")],
        equal=["agent", "signal"],
    )


#: What the default routing tree groups notifications by.
DEFAULT_GROUP_BY = ("alertname", "agent")


def default_routing_tree() -> RoutingTree:
    """The root route a tenant starts with: grouped by alert name and agent, default timings."""
    return RoutingTree(
        group_by=list(DEFAULT_GROUP_BY),
        group_wait_seconds=DEFAULT_GROUP_WAIT,
        group_interval_seconds=DEFAULT_GROUP_INTERVAL,
        repeat_interval_seconds=DEFAULT_REPEAT_INTERVAL,
    )


def _system(tenant_id: uuid.UUID) -> Principal:
    return Principal(
        kind="system", id=None, name="default-rule-pack", tenant_id=tenant_id, role=Role.admin
    )


async def install_default_pack(
    session: AsyncSession, *, tenant_id: uuid.UUID, actor: Principal | None = None
) -> DefaultPackResult:
    """Create the pack's rules the tenant lacks (by name); flushes, the caller commits."""
    actor = actor or _system(tenant_id)
    existing = set(
        (
            await session.scalars(select(AlertRule.name).where(AlertRule.tenant_id == tenant_id))
        ).all()
    )
    created: list[str] = []
    kept: list[str] = []
    for data in default_pack():
        if data.name in existing:
            kept.append(data.name)
            continue
        await create_rule(session, actor=actor, data=data)
        created.append(data.name)
    has_inhibition = await session.scalar(
        select(InhibitionRule.id).where(
            InhibitionRule.tenant_id == tenant_id, InhibitionRule.name == INHIBITION_NAME
        )
    )
    if has_inhibition is None:
        await inhibition.create_rule(session, actor=actor, data=default_inhibition())
    if await routing.get_policy(session, tenant_id=tenant_id) is None:
        # only a tenant that never stored a tree: an edited tree is never replaced
        await routing.put_policy(
            session, actor=actor, tree=default_routing_tree(), expected_revisions={0}
        )
    await record(
        session,
        actor=actor,
        action=PACK_ACTION,
        resource_type="tenant",
        resource_id=tenant_id,
        after={"created": created},
    )
    return DefaultPackResult(created=created, existing=kept)


async def install_for_new_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The listener identity calls when it creates a tenant (wired by the composition root)."""
    await install_default_pack(session, tenant_id=tenant_id)


async def backfill_default_packs(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Give the pack to every tenant that never got it; returns how many tenants got it."""
    from agentdeck.identity.models import Tenant

    async with sessions() as session:
        done = select(AuditEntry.tenant_id).where(AuditEntry.action == PACK_ACTION)
        tenant_ids = list(
            (await session.scalars(select(Tenant.id).where(Tenant.id.not_in(done)))).all()
        )
    for tenant_id in tenant_ids:
        async with sessions() as session:
            try:
                await install_default_pack(session, tenant_id=tenant_id)
                await session.commit()
            except (IntegrityError, DomainError):  # another replica was faster
                await session.rollback()
    if tenant_ids:
        log.info("default rule pack installed", tenants=len(tenant_ids))
    return len(tenant_ids)
