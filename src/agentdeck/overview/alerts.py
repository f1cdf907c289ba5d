"""Open alerts for the overview's strip (counts by severity and the most recent ones) and for
agent health (the worst severity firing per agent).

Open means not resolved: `active` or `acknowledged` (an acknowledged or silenced alert still
fires).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert, AlertStatus
from agentdeck.overview.monitoring_schemas import AlertCounts, AlertItem, AlertSeverity

RECENT_ALERTS = 10
_OPEN = (AlertStatus.active, AlertStatus.acknowledged)


async def open_alerts(session: AsyncSession, *, tenant_id: uuid.UUID) -> AlertCounts:
    """Counts of the tenant's open alerts by severity and the 10 newest."""
    open_ = (Alert.tenant_id == tenant_id, Alert.status.in_(_OPEN))
    counts = (
        await session.execute(
            select(Alert.severity, func.count()).where(*open_).group_by(Alert.severity)
        )
    ).all()
    by_severity = dict.fromkeys(AlertSeverity, 0)
    for severity, count in counts:
        by_severity[AlertSeverity(severity)] = int(count)
    muting = (
        await session.execute(select(Alert.silenced_by, Alert.inhibited_by).where(*open_))
    ).all()
    rows = (
        await session.scalars(
            select(Alert)
            .where(*open_)
            .order_by(Alert.starts_at.desc(), Alert.id.desc())
            .limit(RECENT_ALERTS)
        )
    ).all()
    recent = [
        AlertItem(
            id=row.id,
            alertname=row.rule_name,
            severity=AlertSeverity(row.severity),
            status=AlertStatus(row.status).value,
            agent=str(row.labels["agent"]) if (row.labels or {}).get("agent") else None,
            starts_at=row.starts_at,
            suppressed=suppression(row.silenced_by, row.inhibited_by),
        )
        for row in rows
    ]
    return AlertCounts(
        active=sum(by_severity.values()),
        suppressed=sum(1 for s, i in muting if suppression(s, i)),
        by_severity=by_severity,
        recent=recent,
    )


def suppression(
    silenced_by: list[Any] | None, inhibited_by: list[Any] | None
) -> Literal["silenced", "inhibited"] | None:
    """Why an alert's notifications are held: a silence wins over an inhibition."""
    if silenced_by:
        return "silenced"
    return "inhibited" if inhibited_by else None


_RANK = {
    AlertSeverity.info: 0,
    AlertSeverity.warning: 1,
    AlertSeverity.error: 2,
    AlertSeverity.critical: 3,
}


async def firing_by_agent(
    session: AsyncSession, *, tenant_id: uuid.UUID
) -> dict[str, AlertSeverity]:
    """The worst severity among each agent's open alerts (by the alerts' ``agent`` label)."""
    rows = (
        await session.execute(
            select(Alert.labels, Alert.severity).where(
                Alert.tenant_id == tenant_id, Alert.status.in_(_OPEN)
            )
        )
    ).all()
    worst: dict[str, AlertSeverity] = {}
    for labels, severity in rows:
        agent = (labels or {}).get("agent")
        if not agent:
            continue
        level = AlertSeverity(severity)
        current = worst.get(str(agent))
        if current is None or _RANK[level] > _RANK[current]:
            worst[str(agent)] = level
    return worst
