"""Open alerts for the overview's strip: counts by severity and the most recent ones.

Open means not resolved: `active` or `acknowledged`.
"""

from __future__ import annotations

import uuid

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
        )
        for row in rows
    ]
    return AlertCounts(active=sum(by_severity.values()), by_severity=by_severity, recent=recent)
