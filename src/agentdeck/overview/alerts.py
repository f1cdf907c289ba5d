"""Open alerts for the overview's strip: counts by severity and the most recent ones."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.overview.monitoring_schemas import AlertCounts, AlertSeverity

RECENT_ALERTS = 10


async def open_alerts(session: AsyncSession, *, tenant_id: uuid.UUID) -> AlertCounts:
    """Counts of the tenant's open alerts by severity and the 10 newest (none yet: the
    alerting tables are not there)."""
    del session, tenant_id
    return AlertCounts(active=0, by_severity=dict.fromkeys(AlertSeverity, 0), recent=[])
