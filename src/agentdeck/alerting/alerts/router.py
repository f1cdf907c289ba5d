"""HTTP routes of alerts: `/api/v1/alerts`.

Viewers list and read alerts and their timelines; developers acknowledge, unacknowledge,
resolve (with a note) and add notes, one alert at a time or in bulk. Every change is announced
on the tenant's `alerts` WebSocket channel after it is committed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from agentdeck.alerting.alerts import service
from agentdeck.alerting.alerts.schemas import (
    AcknowledgeBody,
    AlertEventPublic,
    AlertPublic,
    BulkRequest,
    BulkResult,
    NoteBody,
)
from agentdeck.alerting.models import AlertSource, AlertStatus, Severity
from agentdeck.alerting.routing.matchers import Matcher, MatcherError, parse_matcher, parse_matchers
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import BusDep, Developer, SessionDep, Viewer, parse_uuid
from agentdeck.server.errors import field_error

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


def _matchers(values: list[str]) -> list[Matcher]:
    out: list[Matcher] = []
    for n, text in enumerate(values):
        try:
            text = text.strip()
            out.extend(parse_matchers(text) if text.startswith("{") else [parse_matcher(text)])
        except MatcherError as exc:
            raise field_error(400, "invalid-matcher", ["query", "matcher", n], str(exc)) from exc
    return out


@router.get("", response_model=Page[AlertPublic])
async def list_alerts(
    principal: Viewer,
    session: SessionDep,
    alert_status: Annotated[
        list[AlertStatus] | None,
        Query(alias="status", description="active, acknowledged, resolved (repeatable)."),
    ] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeatable.")] = None,
    active: Annotated[
        bool | None, Query(description="true: active or acknowledged; false: resolved.")
    ] = None,
    agent: Annotated[str | None, Query(description="Alerts of this agent (label).")] = None,
    rule_id: uuid.UUID | None = None,
    rule: Annotated[str | None, Query(description="The alertname (rule name).")] = None,
    matcher: Annotated[
        list[str] | None,
        Query(description='Label matchers, e.g. `job=~"api|web"` or `{a="1",b!="2"}`.'),
    ] = None,
    since: Annotated[datetime | None, Query(description="Active at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Started at or before this time.")] = None,
    silenced: Annotated[
        bool | None, Query(description="Only silenced/inhibited (true) or not (false).")
    ] = None,
    source: AlertSource | None = None,
    fingerprint: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AlertPublic]:
    """List the tenant's alerts, newest first, filtered and paged."""
    statuses = list(alert_status or [])
    if active is not None:
        wanted = (
            [AlertStatus.active, AlertStatus.acknowledged] if active else [AlertStatus.resolved]
        )
        statuses = [s for s in statuses if s in wanted] if statuses else wanted
        if not statuses:
            return Page[AlertPublic](items=[], next_cursor=None, limit=limit)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(400, "invalid-time", ["query", name], "a time zone is required")
    flt = service.AlertFilter(
        status=statuses,
        severity=list(severity or []),
        rule_id=rule_id,
        rule_name=rule,
        agent=agent,
        matchers=_matchers(matcher or []),
        since=since,
        until=until,
        silenced=silenced,
        source=source,
        fingerprint=fingerprint,
    )
    rows, next_cursor = await service.list_alerts(
        session, tenant_id=principal.tenant_id, flt=flt, limit=limit, cursor=cursor
    )
    return Page[AlertPublic](
        items=[AlertPublic.of(a) for a in rows], next_cursor=next_cursor, limit=limit
    )


@router.post("/bulk", response_model=BulkResult)
async def bulk_alerts(
    principal: Developer, session: SessionDep, bus: BusDep, body: BulkRequest
) -> BulkResult:
    """Acknowledge, unacknowledge or resolve many alerts; each succeeds or fails on its own."""
    result, changed = await service.bulk(
        session, actor=principal, action=body.action, ids=body.ids, note=body.note
    )
    await session.commit()
    service.publish(bus, changed, body.action.value)
    return result


@router.get("/{alert_id}", response_model=AlertPublic)
async def get_alert(principal: Viewer, session: SessionDep, alert_id: str) -> AlertPublic:
    """One alert, with its duration, escalation level and whether it is still active."""
    alert = await service.get_alert(
        session, tenant_id=principal.tenant_id, alert_id=parse_uuid(alert_id, "alert")
    )
    expr = await service.rule_expr(session, alert=alert)
    return AlertPublic.of(alert, expr=expr)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
async def acknowledge_alert(
    principal: Developer,
    session: SessionDep,
    bus: BusDep,
    alert_id: str,
    body: AcknowledgeBody | None = None,
) -> AlertPublic:
    """Acknowledge an active alert (stops its escalation), with an optional note."""
    alert = await service.acknowledge(
        session,
        actor=principal,
        alert_id=parse_uuid(alert_id, "alert"),
        note=body.note if body else None,
    )
    await session.commit()
    service.publish(bus, [alert], "acknowledged")
    return AlertPublic.of(alert)


@router.post("/{alert_id}/unacknowledge", response_model=AlertPublic)
async def unacknowledge_alert(
    principal: Developer, session: SessionDep, bus: BusDep, alert_id: str
) -> AlertPublic:
    """Put an acknowledged alert back to active."""
    alert = await service.unacknowledge(
        session, actor=principal, alert_id=parse_uuid(alert_id, "alert")
    )
    await session.commit()
    service.publish(bus, [alert], "unacknowledged")
    return AlertPublic.of(alert)


@router.post("/{alert_id}/resolve", response_model=AlertPublic)
async def resolve_alert(
    principal: Developer,
    session: SessionDep,
    bus: BusDep,
    alert_id: str,
    resolution_note: Annotated[str | None, Query(max_length=2000)] = None,
) -> AlertPublic:
    """Resolve by hand, with a note. A condition that still holds after
    `alerting.manual_resolve_grace_seconds` raises a new alert, linked in both timelines."""
    alert = await service.resolve(
        session, actor=principal, alert_id=parse_uuid(alert_id, "alert"), note=resolution_note
    )
    await session.commit()
    service.publish(bus, [alert], "resolved")
    return AlertPublic.of(alert)


@router.post(
    "/{alert_id}/notes", response_model=AlertEventPublic, status_code=status.HTTP_201_CREATED
)
async def add_alert_note(
    principal: Developer, session: SessionDep, bus: BusDep, alert_id: str, body: NoteBody
) -> AlertEventPublic:
    """Add a note to the alert's timeline."""
    event = await service.add_note(
        session, actor=principal, alert_id=parse_uuid(alert_id, "alert"), note=body.note
    )
    await session.commit()
    alert = await service.get_alert(session, tenant_id=principal.tenant_id, alert_id=event.alert_id)
    service.publish(bus, [alert], "note")
    return AlertEventPublic.of(event)


@router.get("/{alert_id}/timeline", response_model=Page[AlertEventPublic])
async def get_alert_timeline(
    principal: Viewer,
    session: SessionDep,
    alert_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
    cursor: str | None = None,
) -> Page[AlertEventPublic]:
    """The alert's timeline, oldest first: state changes, acks, notes, notifications."""
    rows, next_cursor = await service.timeline(
        session,
        tenant_id=principal.tenant_id,
        alert_id=parse_uuid(alert_id, "alert"),
        limit=limit,
        cursor=cursor,
    )
    return Page[AlertEventPublic](
        items=[AlertEventPublic.of(e) for e in rows], next_cursor=next_cursor, limit=limit
    )
