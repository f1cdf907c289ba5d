"""Alerts: list and read, acknowledge, unacknowledge, resolve, notes, timeline, bulk actions.
Status changes go through :mod:`.lifecycle`, which the evaluator and the Alertmanager receiver
share.

Services flush; the caller commits, then calls :func:`publish` so the ``alerts`` channel only
ever announces committed changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts import lifecycle
from agentdeck.alerting.alerts.lifecycle import add_event
from agentdeck.alerting.alerts.schemas import BulkAction, BulkItemResult, BulkResult
from agentdeck.alerting.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertSource,
    AlertStatus,
    Severity,
)
from agentdeck.alerting.routing.matchers import Matcher, matches_all
from agentdeck.audit import service as audit
from agentdeck.bus.base import Bus
from agentdeck.errors import DomainError, conflict, not_found
from agentdeck.identity.principal import Principal
from agentdeck.pagination import continue_after, decode_cursor, encode_cursor, fetch_page
from agentdeck.realtime.publish import spawn

#: Rows read per round when filters run in Python (labels, agent, silenced).
_SCAN_CHUNK = 500
#: Rows examined at most for one page of a label-filtered list.
_SCAN_MAX = 20_000


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: Sequence[AlertStatus] = ()
    severity: Sequence[Severity] = ()
    rule_id: uuid.UUID | None = None
    rule_name: str | None = None
    agent: str | None = None
    matchers: Sequence[Matcher] = ()
    since: datetime | None = None  # active at or after
    until: datetime | None = None  # started at or before
    silenced: bool | None = None
    source: AlertSource | None = None
    fingerprint: str | None = None

    @property
    def in_python(self) -> bool:
        return bool(self.matchers) or self.agent is not None or self.silenced is not None


def _query(tenant_id: uuid.UUID, flt: AlertFilter) -> Select[Any]:
    stmt = select(Alert).where(Alert.tenant_id == tenant_id)
    if flt.status:
        stmt = stmt.where(Alert.status.in_(list(flt.status)))
    if flt.severity:
        stmt = stmt.where(Alert.severity.in_(list(flt.severity)))
    if flt.rule_id is not None:
        stmt = stmt.where(Alert.rule_id == flt.rule_id)
    if flt.rule_name is not None:
        stmt = stmt.where(Alert.rule_name == flt.rule_name)
    if flt.source is not None:
        stmt = stmt.where(Alert.source == flt.source)
    if flt.fingerprint is not None:
        stmt = stmt.where(Alert.fingerprint == flt.fingerprint)
    if flt.until is not None:
        stmt = stmt.where(Alert.starts_at <= flt.until)
    if flt.since is not None:
        # active at some point in [since, until]: not resolved before `since`
        stmt = stmt.where(or_(Alert.resolved_at.is_(None), Alert.resolved_at >= flt.since))
    return stmt


def _keep(alert: Alert, flt: AlertFilter) -> bool:
    labels = {str(k): str(v) for k, v in (alert.labels or {}).items()}
    if flt.agent is not None and flt.agent not in (labels.get("agent"), labels.get("agent_id")):
        return False
    if flt.silenced is not None:
        muted = bool(alert.silenced_by or alert.inhibited_by)
        if muted is not flt.silenced:
            return False
    return matches_all(flt.matchers, labels)


async def list_alerts(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    flt: AlertFilter,
    limit: int,
    cursor: str | None,
) -> tuple[list[Alert], str | None]:
    """Newest first by ``starts_at``; label/agent/silenced filters are applied while scanning,
    so a page is always ``limit`` matching alerts (or the last page)."""
    base = _query(tenant_id, flt)
    after = decode_cursor(cursor) if cursor else None
    kept: list[Alert] = []
    scanned = 0
    while True:
        stmt = base
        if after is not None:
            stmt = continue_after(stmt, (Alert.starts_at, Alert.id), *after, descending=True)
        chunk = _SCAN_CHUNK if flt.in_python else limit + 1
        ordered = stmt.order_by(Alert.starts_at.desc(), Alert.id.desc()).limit(chunk)
        rows: list[Alert] = list(await session.scalars(ordered))
        for row in rows:
            if _keep(row, flt):
                kept.append(row)
        scanned += len(rows)
        if len(kept) > limit or len(rows) < chunk or scanned >= _SCAN_MAX:
            break
        after = (rows[-1].starts_at, rows[-1].id)
    items = kept[:limit]
    more = len(kept) > limit or (scanned >= _SCAN_MAX and bool(rows))
    next_cursor = encode_cursor(items[-1].starts_at, items[-1].id) if more and items else None
    return items, next_cursor


async def get_alert(session: AsyncSession, *, tenant_id: uuid.UUID, alert_id: uuid.UUID) -> Alert:
    alert = await session.scalar(
        select(Alert).where(Alert.id == alert_id, Alert.tenant_id == tenant_id)
    )
    if alert is None:
        raise not_found("alert", alert_id)
    return alert


def _user_id(actor: Principal) -> uuid.UUID | None:
    """The users.id of the actor (API keys are not users; the timeline still names them)."""
    return actor.id if actor.kind == "user" else None


def _snapshot(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "acknowledged_at": alert.acknowledged_at,
        "resolved_at": alert.resolved_at,
        "resolution_note": alert.resolution_note,
    }


async def _change(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    action: str,
    refuse: Callable[[Alert], DomainError | None],
    apply: Callable[[Alert], None],
) -> Alert:
    """A person's change of the tenant's alert: refused (``refuse`` says why) or ``apply``-ed
    and audited as ``alert.<action>``, before and after."""
    alert = await get_alert(session, tenant_id=actor.tenant_id, alert_id=alert_id)
    refused = refuse(alert)
    if refused is not None:
        raise refused
    before = _snapshot(alert)
    apply(alert)
    await audit.record(
        session,
        actor=actor,
        action=f"alert.{action}",
        resource_type="alert",
        resource_id=alert.id,
        before=before,
        after=_snapshot(alert),
    )
    await session.flush()
    return alert


def _refuse_acknowledge(alert: Alert) -> DomainError | None:
    if alert.status is AlertStatus.resolved:
        return conflict("a resolved alert cannot be acknowledged", kind="alert-resolved")
    if alert.status is AlertStatus.acknowledged:
        return conflict("the alert is already acknowledged", kind="alert-acknowledged")
    return None


async def acknowledge(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, note: str | None
) -> Alert:
    def apply(alert: Alert) -> None:
        lifecycle.acknowledge(
            session,
            alert,
            at=_now(),
            actor_id=actor.id,
            user_id=_user_id(actor),
            message=note or "",
            data={"by": actor.name, "note": note},
        )

    return await _change(
        session,
        actor=actor,
        alert_id=alert_id,
        action="acknowledge",
        refuse=_refuse_acknowledge,
        apply=apply,
    )


async def unacknowledge(session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID) -> Alert:
    def refuse(alert: Alert) -> DomainError | None:
        if alert.status is AlertStatus.acknowledged:
            return None
        return conflict("only an acknowledged alert can be unacknowledged", kind="not-acknowledged")

    def apply(alert: Alert) -> None:
        lifecycle.unacknowledge(
            session, alert, at=_now(), actor_id=actor.id, data={"by": actor.name}
        )

    return await _change(
        session, actor=actor, alert_id=alert_id, action="unacknowledge", refuse=refuse, apply=apply
    )


async def resolve(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, note: str | None
) -> Alert:
    """Resolve by hand. If the condition still holds after the manual-resolve grace, the
    evaluator (or the next Alertmanager push) raises a new alert linked to this one."""

    def refuse(alert: Alert) -> DomainError | None:
        if alert.status is AlertStatus.resolved:
            return conflict("the alert is already resolved", kind="alert-resolved")
        return None

    def apply(alert: Alert) -> None:
        alert.resolved_by = _user_id(actor)
        alert.resolution_note = note
        lifecycle.resolve(
            session,
            alert,
            at=_now(),
            actor_id=actor.id,
            message=note or "",
            data={"by": actor.name, "manual": True, "note": note},
        )

    return await _change(
        session, actor=actor, alert_id=alert_id, action="resolve", refuse=refuse, apply=apply
    )


async def add_note(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, note: str
) -> AlertEvent:
    alert = await get_alert(session, tenant_id=actor.tenant_id, alert_id=alert_id)
    event = add_event(
        session, alert, "note", actor_id=actor.id, message=note, data={"by": actor.name}
    )
    await audit.record(
        session,
        actor=actor,
        action="alert.note",
        resource_type="alert",
        resource_id=alert.id,
        after={"note": note},
    )
    await session.flush()
    return event


async def timeline(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alert_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[AlertEvent], str | None]:
    """The alert's events, oldest first."""
    await get_alert(session, tenant_id=tenant_id, alert_id=alert_id)
    stmt = select(AlertEvent).where(
        AlertEvent.alert_id == alert_id, AlertEvent.tenant_id == tenant_id
    )
    return await fetch_page(
        session,
        stmt,
        order=(AlertEvent.at, AlertEvent.id),
        cursor=cursor,
        limit=limit,
        descending=False,
    )


async def bulk(
    session: AsyncSession,
    *,
    actor: Principal,
    action: BulkAction,
    ids: Iterable[uuid.UUID],
    note: str | None,
) -> tuple[BulkResult, list[Alert]]:
    """Apply one action to many alerts; each succeeds or fails on its own.

    Each action refuses (not found, wrong status) before it changes anything, so a refused item
    leaves nothing behind without a SAVEPOINT. (A SAVEPOINT would open SQLite's transaction
    before the first read; when the evaluator commits in between, SQLite refuses the write at
    once instead of waiting for the lock.)"""
    results: list[BulkItemResult] = []
    changed: list[Alert] = []
    for alert_id in dict.fromkeys(ids):
        try:
            if action is BulkAction.acknowledge:
                alert = await acknowledge(session, actor=actor, alert_id=alert_id, note=note)
            elif action is BulkAction.unacknowledge:
                alert = await unacknowledge(session, actor=actor, alert_id=alert_id)
            else:
                alert = await resolve(session, actor=actor, alert_id=alert_id, note=note)
        except DomainError as exc:
            results.append(BulkItemResult(id=alert_id, ok=False, error=exc.detail))
            continue
        changed.append(alert)
        results.append(BulkItemResult(id=alert_id, ok=True, status=alert.status))
    ok = sum(1 for r in results if r.ok)
    return BulkResult(succeeded=ok, failed=len(results) - ok, results=results), changed


async def rule_expr(session: AsyncSession, *, alert: Alert) -> str | None:
    """The expression of the alert's rule (None for pushed alerts or a deleted rule)."""
    if alert.rule_id is None:
        return None
    expr: str | None = await session.scalar(
        select(AlertRule.expr).where(
            AlertRule.id == alert.rule_id, AlertRule.tenant_id == alert.tenant_id
        )
    )
    return expr


def publish(bus: Bus | None, alerts: Iterable[Alert], action: str) -> None:
    """Announce committed alert changes on each tenant's ``alerts`` channel."""
    if bus is None:
        return
    for alert in alerts:
        spawn(
            bus,
            alert.tenant_id,
            "alerts",
            {
                "action": action,
                "id": str(alert.id),
                "status": alert.status.value,
                "severity": alert.severity.value,
                "rule_name": alert.rule_name,
                "fingerprint": alert.fingerprint,
                "reason": alert.reason,
                "value": alert.value,
                "labels": dict(alert.labels or {}),
            },
        )
