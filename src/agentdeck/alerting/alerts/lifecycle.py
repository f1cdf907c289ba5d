"""The alert lifecycle, written once: raise, resolve, refire, acknowledge, unacknowledge.

Every writer of alerts (the rule evaluator, the Alertmanager receiver, the alerts API and its
bulk actions) changes an alert's status only through these functions, so the fields set and
the events written on its timeline are the same whoever does it. They flush when they create a
row (so it has its id), never commit, and check nothing about who may do what: the callers do.

* :func:`raise_alert` — a new active alert with its ``created`` event;
* :func:`resolve` — resolved now (or at the sender's end time), with its ``resolved`` event;
* :func:`refire` — a condition still holding after a manual resolve: a new alert, linked to the
  resolved one on both timelines (``refired`` events), once :func:`grace_passed`;
* :func:`acknowledge` / :func:`unacknowledge` — a person takes the alert, or hands it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert, AlertEvent, AlertSource, AlertStatus, Severity


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_event(
    session: AsyncSession,
    alert: Alert,
    kind: str,
    *,
    at: datetime | None = None,
    actor_id: uuid.UUID | None = None,
    message: str = "",
    data: Mapping[str, Any] | None = None,
) -> AlertEvent:
    """An entry on the alert's timeline."""
    event = AlertEvent(
        tenant_id=alert.tenant_id,
        alert_id=alert.id,
        at=at or datetime.now(UTC),
        kind=kind,
        actor_id=actor_id,
        message=message[:2000],
        data=dict(data or {}),
    )
    session.add(event)
    return event


@dataclass(slots=True)
class NewAlert:
    """What a raised alert is: where it comes from, what it is about, and why."""

    tenant_id: uuid.UUID
    source: AlertSource
    rule_name: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: Severity
    rule_id: uuid.UUID | None = None
    reason: str = "firing"
    value: float | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None
    #: The ``created`` event's data.
    data: dict[str, Any] = field(default_factory=dict)


async def raise_alert(
    session: AsyncSession,
    new: NewAlert,
    *,
    at: datetime,
    message: str,
    starts_at: datetime | None = None,
) -> Alert:
    """A new active alert (seen at ``at``, starting at ``starts_at`` or ``at``) and its
    ``created`` event saying ``message``."""
    alert = Alert(
        id=uuid.uuid4(),
        tenant_id=new.tenant_id,
        rule_id=new.rule_id,
        rule_name=new.rule_name,
        source=new.source,
        fingerprint=new.fingerprint,
        labels=new.labels,
        annotations=new.annotations,
        severity=new.severity,
        status=AlertStatus.active,
        reason=new.reason,
        value=new.value,
        starts_at=starts_at or at,
        ends_at=new.ends_at,
        last_seen_at=at,
        generator_url=new.generator_url,
    )
    session.add(alert)
    await session.flush()
    add_event(session, alert, "created", at=at, message=message, data=new.data)
    return alert


def resolve(
    session: AsyncSession,
    alert: Alert,
    *,
    at: datetime,
    message: str = "",
    actor_id: uuid.UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Resolve ``alert`` at ``at`` (its end), with a ``resolved`` event (``actor_id``: by a
    person, which makes it a manual resolve)."""
    alert.status = AlertStatus.resolved
    alert.resolved_at = at
    alert.ends_at = at
    add_event(session, alert, "resolved", at=at, actor_id=actor_id, message=message, data=data)


def grace_passed(alert: Alert, at: datetime, grace: timedelta) -> bool:
    """Whether the manual-resolve grace of a resolved ``alert`` has passed at ``at`` (until
    then a condition that still holds does not raise it again)."""
    resolved_at = _aware(alert.resolved_at) if alert.resolved_at is not None else at
    return at - resolved_at >= grace


async def refire(
    session: AsyncSession,
    previous: Alert,
    new: NewAlert,
    *,
    at: datetime,
    created: str,
    why: str,
    starts_at: datetime | None = None,
) -> Alert:
    """A new alert for a condition that still holds after ``previous`` was resolved by hand,
    linked to it on both timelines: ``created`` is the new alert's ``created`` message, ``why``
    says on its ``refired`` event what still held."""
    alert = await raise_alert(session, new, at=at, message=created, starts_at=starts_at)
    add_event(
        session,
        previous,
        "refired",
        at=at,
        message="still firing after a manual resolve",
        data={"new_alert_id": str(alert.id)},
    )
    add_event(
        session, alert, "refired", at=at, message=why, data={"previous_alert_id": str(previous.id)}
    )
    return alert


def acknowledge(
    session: AsyncSession,
    alert: Alert,
    *,
    at: datetime,
    actor_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    data: Mapping[str, Any],
    message: str = "",
) -> None:
    """A person took the alert (``user_id``: theirs when they are a user, not an API key)."""
    alert.status = AlertStatus.acknowledged
    alert.acknowledged_at = at
    alert.acknowledged_by = user_id
    add_event(session, alert, "acknowledged", at=at, actor_id=actor_id, message=message, data=data)


def unacknowledge(
    session: AsyncSession,
    alert: Alert,
    *,
    at: datetime,
    actor_id: uuid.UUID | None,
    data: Mapping[str, Any],
) -> None:
    """The alert is nobody's again."""
    alert.status = AlertStatus.active
    alert.acknowledged_at = None
    alert.acknowledged_by = None
    add_event(session, alert, "unacknowledged", at=at, actor_id=actor_id, data=data)
