"""Alerts pushed in by Prometheus, vmalert or any Alertmanager client (``POST /api/v2/alerts``).

Alertmanager semantics: an alert is identified by the fingerprint of its labels; each push of a
firing alert refreshes it (annotations, planned end); an ``endsAt`` in the past resolves it; an
alert not re-sent before its planned end (``endsAt``, or now + ``external_resolve_timeout``)
resolves then. A push of an alert resolved by hand less than the manual-resolve grace ago is
ignored; after the grace it raises a new alert linked to the resolved one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts import lifecycle
from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.alerts.schemas import PostableAlert
from agentdeck.alerting.models import Alert, AlertEvent, AlertSource, AlertStatus, Severity
from agentdeck.settings import AlertingSettings

#: Severity label values of common rule packs mapped to ours; anything else is a warning.
_SEVERITY = {
    "info": Severity.info,
    "informational": Severity.info,
    "none": Severity.info,
    "warning": Severity.warning,
    "warn": Severity.warning,
    "error": Severity.error,
    "major": Severity.error,
    "critical": Severity.critical,
    "page": Severity.critical,
}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def severity_of(labels: dict[str, str]) -> Severity:
    return _SEVERITY.get(labels.get("severity", "").lower(), Severity.warning)


async def _resolved_by_hand(session: AsyncSession, alert: Alert) -> bool:
    event = await session.scalar(
        select(AlertEvent.id).where(
            AlertEvent.alert_id == alert.id,
            AlertEvent.kind == "resolved",
            AlertEvent.actor_id.is_not(None),
        )
    )
    return event is not None


async def receive(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alerts: list[PostableAlert],
    settings: AlertingSettings,
    now: datetime | None = None,
) -> list[tuple[Alert, str]]:
    """Apply a batch of pushed alerts; returns the changed alerts with what happened."""
    now = now or datetime.now(UTC)
    changed: list[tuple[Alert, str]] = []
    for item in alerts:
        labels = dict(item.labels)
        fp = fingerprint(labels)
        latest = await session.scalar(
            select(Alert)
            .where(
                Alert.tenant_id == tenant_id,
                Alert.fingerprint == fp,
                Alert.source == AlertSource.external,
            )
            .order_by(Alert.starts_at.desc(), Alert.id.desc())
            .limit(1)
        )
        ended = item.endsAt is not None and item.endsAt <= now
        if latest is not None and latest.status is not AlertStatus.resolved:
            if ended:
                assert item.endsAt is not None
                lifecycle.resolve(session, latest, at=item.endsAt, message="resolved by the sender")
                changed.append((latest, "resolved"))
                continue
            latest.annotations = dict(item.annotations)
            latest.ends_at = item.endsAt or now + timedelta(
                seconds=settings.external_resolve_timeout_seconds
            )
            latest.last_seen_at = now
            latest.generator_url = item.generatorURL
            changed.append((latest, "updated"))
            continue
        if ended:
            continue  # resolving something we never saw (or already resolved): nothing to do
        new = lifecycle.NewAlert(
            tenant_id=tenant_id,
            source=AlertSource.external,
            rule_name=labels["alertname"][:200],
            fingerprint=fp,
            labels=labels,
            annotations=dict(item.annotations),
            severity=severity_of(labels),
            ends_at=item.endsAt
            or now + timedelta(seconds=settings.external_resolve_timeout_seconds),
            generator_url=item.generatorURL,
        )
        created = "received through the Alertmanager API"
        if latest is not None and await _resolved_by_hand(session, latest):
            grace = timedelta(seconds=settings.manual_resolve_grace_seconds)
            if not lifecycle.grace_passed(latest, now, grace):
                continue
            alert = await lifecycle.refire(
                session,
                latest,
                new,
                at=now,
                created=created,
                why="the sender still reported it after a manual resolve",
                starts_at=item.startsAt,
            )
        else:
            alert = await lifecycle.raise_alert(
                session, new, at=now, message=created, starts_at=item.startsAt
            )
        changed.append((alert, "created"))
    await session.flush()
    return changed


async def expire(session: AsyncSession, *, now: datetime | None = None) -> list[Alert]:
    """Resolve pushed alerts whose planned end passed without a re-send (all tenants)."""
    now = now or datetime.now(UTC)
    rows = list(
        await session.scalars(
            select(Alert)
            .where(
                Alert.source == AlertSource.external,
                Alert.status != AlertStatus.resolved,
                Alert.ends_at.is_not(None),
                Alert.ends_at <= now,
            )
            .limit(1000)
        )
    )
    for alert in rows:
        assert alert.ends_at is not None
        lifecycle.resolve(
            session, alert, at=_aware(alert.ends_at), message="not re-sent before its end time"
        )
    await session.flush()
    return rows
