"""Silences: mute alerts whose labels match every matcher, between starts_at and ends_at.

Status is derived from the clock: pending (not started), active, expired (ended, or expired
early by a user, which moves ends_at to now). Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.alerting.models import Alert, Silence
from agentdeck.alerting.routing.matchers import Matcher, MatcherModel, from_dicts, matches_all
from agentdeck.db.base import utcnow
from agentdeck.errors import Conflict, invalid, not_found
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page

Comment = Annotated[str, StringConstraints(max_length=2000)]
MAX_DURATION = timedelta(days=365)
KIND = "silence"  # audit resource type


class SilenceState(StrEnum):
    pending = "pending"
    active = "active"
    expired = "expired"


def state_of(s: Silence, now: datetime) -> SilenceState:
    if s.ends_at <= now:
        return SilenceState.expired
    if s.starts_at > now:
        return SilenceState.pending
    return SilenceState.active


class SilenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherModel] = Field(min_length=1, max_length=50)
    starts_at: datetime | None = Field(None, description="Default: now.")
    ends_at: datetime
    comment: Comment = ""

    @model_validator(mode="after")
    def _window(self) -> SilenceCreate:
        _check_window(self.starts_at or utcnow(), self.ends_at)
        _check_not_match_all(self.matchers)
        return self


class SilenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherModel] | None = Field(None, min_length=1, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    comment: Comment | None = None

    @model_validator(mode="after")
    def _matchers(self) -> SilenceUpdate:
        if self.matchers is not None:
            _check_not_match_all(self.matchers)
        return self


class SilenceFromAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration_seconds: float = Field(3600, gt=0, le=MAX_DURATION.total_seconds())
    comment: Comment = ""
    label_names: list[str] | None = Field(
        None, max_length=50, description="Labels to match on (default: all of the alert's)."
    )


class SilencePreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherModel] = Field(min_length=1, max_length=50)


class SilencePublic(BaseModel):
    id: uuid.UUID
    matchers: list[MatcherModel]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: uuid.UUID | None
    expired_by: uuid.UUID | None
    status: SilenceState
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Silence, now: datetime) -> SilencePublic:
        return cls(
            id=s.id,
            matchers=[MatcherModel.model_validate(m) for m in s.matchers],
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            comment=s.comment,
            created_by=s.created_by,
            expired_by=s.expired_by,
            status=state_of(s, now),
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("starts_at and ends_at need a timezone (RFC 3339)")
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_DURATION:
        raise ValueError("a silence lasts at most 365 days")


def _check_not_match_all(matchers: Sequence[MatcherModel]) -> None:
    if all(m.to_matcher().matches({}) for m in matchers):
        raise ValueError("the matchers would match every alert; add one that needs a label")


def snapshot(s: Silence) -> dict[str, Any]:
    return {
        "matchers": s.matchers,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "comment": s.comment,
        "expired_by": s.expired_by,
    }


async def get_silence(
    session: AsyncSession, *, tenant_id: uuid.UUID, silence_id: uuid.UUID
) -> Silence:
    return await crud.get_owned(
        session, Silence, tenant_id=tenant_id, ident=silence_id, what="silence"
    )


def _silence_matches_filter(s: Silence, filters: Sequence[Matcher]) -> bool:
    """Alertmanager's filter: the silence's equality matchers, read as labels, match all."""
    labels = {m["name"]: m["value"] for m in s.matchers if m.get("op", "=") == "="}
    return matches_all(filters, labels)


async def list_silences(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    now: datetime,
    states: Sequence[SilenceState] | None = None,
    matchers: Sequence[Matcher] = (),
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Silence], str | None]:
    """Newest first; ``matchers`` filter in Python, so they scan at most 5,000 silences."""
    stmt = select(Silence).where(Silence.tenant_id == tenant_id)
    if states:
        clauses = []
        if SilenceState.pending in states:
            clauses.append(Silence.starts_at > now)
        if SilenceState.active in states:
            clauses.append((Silence.starts_at <= now) & (Silence.ends_at > now))
        if SilenceState.expired in states:
            clauses.append(Silence.ends_at <= now)
        condition = clauses[0]
        for clause in clauses[1:]:
            condition = condition | clause
        stmt = stmt.where(condition)
    if q:
        stmt = stmt.where(Silence.comment.icontains(q, autoescape=True))
    return await fetch_page(
        session,
        stmt,
        order=(Silence.created_at, Silence.id),
        cursor=cursor,
        limit=limit,
        keep=(lambda s: _silence_matches_filter(s, matchers)) if matchers else None,
        scan=5000,
    )


async def create_silence(
    session: AsyncSession, *, actor: Principal, data: SilenceCreate
) -> Silence:
    row = Silence(
        tenant_id=actor.tenant_id,
        matchers=[m.model_dump() for m in data.matchers],
        starts_at=data.starts_at or utcnow(),
        ends_at=data.ends_at,
        comment=data.comment,
        created_by=actor.user_id,
    )
    return await crud.insert(session, actor=actor, row=row, kind=KIND, snapshot=snapshot)


async def silence_from_alert(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, data: SilenceFromAlert
) -> Silence:
    """One click: equality matchers on the alert's labels (or the names asked for)."""
    alert = await session.scalar(
        select(Alert).where(Alert.tenant_id == actor.tenant_id, Alert.id == alert_id)
    )
    if alert is None:
        raise not_found("alert", alert_id)
    labels = {str(k): str(v) for k, v in alert.labels.items()}
    labels.setdefault("alertname", alert.rule_name)
    names = data.label_names if data.label_names is not None else sorted(labels)
    unknown = [n for n in names if n not in labels]
    if unknown:
        raise invalid(
            "validation-error",
            ["body", "label_names"],
            f"the alert has no label {unknown[0]!r}",
        )
    if not names:
        raise invalid("validation-error", ["body", "label_names"], "name at least one label")
    now = utcnow()
    create = SilenceCreate(
        matchers=[MatcherModel(name=n, op="=", value=labels[n]) for n in names],
        starts_at=now,
        ends_at=now + timedelta(seconds=data.duration_seconds),
        comment=data.comment or f"silenced from alert {alert.rule_name}",
    )
    return await create_silence(session, actor=actor, data=create)


async def update_silence(
    session: AsyncSession, *, actor: Principal, silence_id: uuid.UUID, data: SilenceUpdate
) -> Silence:
    row = await get_silence(session, tenant_id=actor.tenant_id, silence_id=silence_id)
    if state_of(row, utcnow()) is SilenceState.expired:
        raise Conflict(kind="silence-expired", detail="an expired silence cannot be changed")
    before = snapshot(row)
    starts_at = data.starts_at or row.starts_at
    ends_at = data.ends_at or row.ends_at
    try:
        _check_window(starts_at, ends_at)
    except ValueError as exc:
        raise invalid("validation-error", ["body", "ends_at"], str(exc)) from exc
    row.starts_at, row.ends_at = starts_at, ends_at
    if data.matchers is not None:
        row.matchers = [m.model_dump() for m in data.matchers]
    if data.comment is not None:
        row.comment = data.comment
    return await crud.save(
        session, actor=actor, row=row, kind=KIND, before=before, snapshot=snapshot
    )


async def expire_silence(
    session: AsyncSession, *, actor: Principal, silence_id: uuid.UUID
) -> Silence:
    """End a silence now (a pending one ends before it starts); 409 if already expired."""
    row = await get_silence(session, tenant_id=actor.tenant_id, silence_id=silence_id)
    now = utcnow()
    if state_of(row, now) is SilenceState.expired:
        raise Conflict(kind="silence-expired", detail="the silence has already expired")
    before = snapshot(row)
    row.ends_at = now
    if row.starts_at > now:
        row.starts_at = now
    row.expired_by = actor.user_id
    return await crud.save(
        session, actor=actor, row=row, kind=KIND, before=before, snapshot=snapshot, verb="expire"
    )


async def delete_silence(session: AsyncSession, *, actor: Principal, silence_id: uuid.UUID) -> None:
    row = await get_silence(session, tenant_id=actor.tenant_id, silence_id=silence_id)
    await crud.remove(session, actor=actor, row=row, kind=KIND, snapshot=snapshot)


async def matching_alerts(
    session: AsyncSession, *, tenant_id: uuid.UUID, matchers: Sequence[Matcher], limit: int = 100
) -> list[Alert]:
    """Unresolved alerts a silence with these matchers would mute (the create-form preview)."""
    rows = await session.scalars(
        select(Alert)
        .where(Alert.tenant_id == tenant_id, Alert.status != "resolved")
        .order_by(Alert.starts_at.desc())
        .limit(5000)
    )
    out = [a for a in rows if matches_all(matchers, alert_labels(a))]
    return out[:limit]


def alert_labels(alert: Alert) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in alert.labels.items()}
    labels.setdefault("alertname", alert.rule_name)
    labels.setdefault("severity", str(alert.severity.value))
    return labels


def silencing(
    silences: Sequence[tuple[uuid.UUID, list[Matcher]]], labels: Mapping[str, Any]
) -> list[str]:
    """Ids of the (active) silences that mute these labels."""
    return [str(sid) for sid, ms in silences if matches_all(ms, labels)]


async def active_silences(
    session: AsyncSession, *, tenant_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, list[Matcher]]]:
    rows = await session.execute(
        select(Silence.id, Silence.matchers).where(
            Silence.tenant_id == tenant_id, Silence.starts_at <= now, Silence.ends_at > now
        )
    )
    return [(sid, from_dicts(ms)) for sid, ms in rows]
