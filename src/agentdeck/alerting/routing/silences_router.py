"""HTTP routes of silences: `/api/v1/silences` (viewers read, developers silence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from agentdeck.alerting.routing import silences
from agentdeck.alerting.routing.matchers import Matcher, MatcherError, parse_matcher
from agentdeck.alerting.routing.silences import (
    SilenceCreate,
    SilenceFromAlert,
    SilencePreview,
    SilencePublic,
    SilenceState,
    SilenceUpdate,
)
from agentdeck.db.base import utcnow
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Developer, SessionDep, Viewer, parse_uuid
from agentdeck.server.errors import field_error

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])


class PreviewAlert(BaseModel):
    id: str
    rule_name: str
    labels: dict[str, str]
    severity: str
    status: str


class SilencePreviewResult(BaseModel):
    alerts: list[PreviewAlert]
    count: int


def _filters(values: list[str] | None) -> list[Matcher]:
    out = []
    for index, text in enumerate(values or []):
        try:
            out.append(parse_matcher(text))
        except MatcherError as exc:
            raise field_error(
                422, "validation-error", ["query", "matcher", index], str(exc)
            ) from exc
    return out


@router.get("", response_model=Page[SilencePublic])
async def list_silences(
    principal: Viewer,
    session: SessionDep,
    state: Annotated[list[SilenceState] | None, Query(description="Repeatable.")] = None,
    matcher: Annotated[
        list[str] | None,
        Query(description='Repeatable, e.g. `team="db"`: silences whose matchers pin it.'),
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Comment contains.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[SilencePublic]:
    """Silences, newest first, with their status (pending, active, expired)."""
    now = utcnow()
    rows, next_cursor = await silences.list_silences(
        session,
        tenant_id=principal.tenant_id,
        now=now,
        states=state,
        matchers=_filters(matcher),
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return Page[SilencePublic](
        items=[SilencePublic.of(s, now) for s in rows], next_cursor=next_cursor, limit=limit
    )


@router.post("", response_model=SilencePublic, status_code=status.HTTP_201_CREATED)
async def create_silence(
    principal: Developer, session: SessionDep, body: SilenceCreate
) -> SilencePublic:
    """Silence alerts matching every matcher from `starts_at` (default now) to `ends_at`."""
    row = await silences.create_silence(session, actor=principal, data=body)
    await session.commit()
    return SilencePublic.of(row, utcnow())


@router.post("/preview", response_model=SilencePreviewResult)
async def preview_silence(
    principal: Viewer, session: SessionDep, body: SilencePreview
) -> SilencePreviewResult:
    """The unresolved alerts these matchers would silence (at most 100 listed)."""
    alerts = await silences.matching_alerts(
        session,
        tenant_id=principal.tenant_id,
        matchers=[m.to_matcher() for m in body.matchers],
    )
    return SilencePreviewResult(
        alerts=[
            PreviewAlert(
                id=str(a.id),
                rule_name=a.rule_name,
                labels=silences.alert_labels(a),
                severity=a.severity.value,
                status=a.status.value,
            )
            for a in alerts
        ],
        count=len(alerts),
    )


@router.post(
    "/from-alert/{alert_id}", response_model=SilencePublic, status_code=status.HTTP_201_CREATED
)
async def create_silence_from_alert(
    principal: Developer, session: SessionDep, alert_id: str, body: SilenceFromAlert
) -> SilencePublic:
    """One click: silence an alert by its labels (all, or the names given) for a duration."""
    row = await silences.silence_from_alert(
        session, actor=principal, alert_id=parse_uuid(alert_id, "alert"), data=body
    )
    await session.commit()
    return SilencePublic.of(row, utcnow())


@router.get("/{silence_id}", response_model=SilencePublic)
async def get_silence(principal: Viewer, session: SessionDep, silence_id: str) -> SilencePublic:
    """One silence."""
    row = await silences.get_silence(
        session, tenant_id=principal.tenant_id, silence_id=parse_uuid(silence_id, "silence")
    )
    return SilencePublic.of(row, utcnow())


@router.patch("/{silence_id}", response_model=SilencePublic)
async def update_silence(
    principal: Developer, session: SessionDep, silence_id: str, body: SilenceUpdate
) -> SilencePublic:
    """Change a pending or active silence (409 once expired)."""
    row = await silences.update_silence(
        session, actor=principal, silence_id=parse_uuid(silence_id, "silence"), data=body
    )
    await session.commit()
    return SilencePublic.of(row, utcnow())


@router.post("/{silence_id}/expire", response_model=SilencePublic)
async def expire_silence(
    principal: Developer, session: SessionDep, silence_id: str
) -> SilencePublic:
    """End a silence now; alerts it muted that still fire notify at once."""
    row = await silences.expire_silence(
        session, actor=principal, silence_id=parse_uuid(silence_id, "silence")
    )
    await session.commit()
    return SilencePublic.of(row, utcnow())


@router.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_silence(principal: Developer, session: SessionDep, silence_id: str) -> None:
    """Delete a silence (its history goes too; prefer expiring)."""
    await silences.delete_silence(
        session, actor=principal, silence_id=parse_uuid(silence_id, "silence")
    )
    await session.commit()
