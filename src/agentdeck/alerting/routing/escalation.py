"""Escalation policies: levels {after N seconds unacknowledged, notify these receivers}.

A route names a policy with ``escalation_policy_id``; the dispatcher walks the levels (see
``escalation_due``). Acknowledging stops escalation; resolving notifies every level notified.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.alerting.models import EscalationPolicy, Receiver
from agentdeck.alerting.routing.references import ensure_known
from agentdeck.errors import conflict
from agentdeck.identity.principal import Principal

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
MAX_LEVELS = 10
KIND = "escalation_policy"  # audit resource type


class EscalationLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_seconds: float = Field(
        ge=0, le=30 * 86400, description="Unacknowledged for this long since the alert started."
    )
    receiver_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)


def _ascending(levels: list[EscalationLevel]) -> list[EscalationLevel]:
    for before, after in zip(levels, levels[1:], strict=False):
        if after.after_seconds <= before.after_seconds:
            raise ValueError("levels must have strictly increasing after_seconds")
    return levels


class EscalationPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    levels: list[EscalationLevel] = Field(min_length=1, max_length=MAX_LEVELS)
    enabled: bool = True

    _check = field_validator("levels")(_ascending)


class EscalationPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    levels: list[EscalationLevel] | None = Field(None, min_length=1, max_length=MAX_LEVELS)
    enabled: bool | None = None

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[EscalationLevel] | None) -> list[EscalationLevel] | None:
        return None if value is None else _ascending(value)


class EscalationPolicyPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    levels: list[EscalationLevel]
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: EscalationPolicy) -> EscalationPolicyPublic:
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            levels=[EscalationLevel.model_validate(level) for level in p.levels],
            enabled=p.enabled,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


def snapshot(p: EscalationPolicy) -> dict[str, Any]:
    return {"name": p.name, "description": p.description, "levels": p.levels, "enabled": p.enabled}


POLICIES = crud.Named(EscalationPolicy, what="escalation policy", kind=KIND, snapshot=snapshot)


async def _ensure_receivers(
    session: AsyncSession, tenant_id: uuid.UUID, levels: list[EscalationLevel]
) -> None:
    await ensure_known(
        session,
        id_column=Receiver.id,
        tenant_column=Receiver.tenant_id,
        tenant_id=tenant_id,
        refs=(
            (r, ["body", "levels", i, "receiver_ids", j])
            for i, level in enumerate(levels)
            for j, r in enumerate(level.receiver_ids)
        ),
        what="receiver",
        detail="unknown receivers",
    )


def _levels_json(levels: list[EscalationLevel]) -> list[Any]:
    return [level.model_dump(mode="json") for level in levels]


async def get_policy(
    session: AsyncSession, *, tenant_id: uuid.UUID, policy_id: uuid.UUID
) -> EscalationPolicy:
    return await POLICIES.get(session, tenant_id=tenant_id, ident=policy_id)


async def create_policy(
    session: AsyncSession, *, actor: Principal, data: EscalationPolicyCreate
) -> EscalationPolicy:
    await POLICIES.ensure_name_free(session, tenant_id=actor.tenant_id, name=data.name)
    await _ensure_receivers(session, actor.tenant_id, data.levels)
    row = EscalationPolicy(
        tenant_id=actor.tenant_id,
        name=data.name,
        description=data.description,
        levels=_levels_json(data.levels),
        enabled=data.enabled,
    )
    return await POLICIES.insert(session, actor=actor, row=row)


async def update_policy(
    session: AsyncSession,
    *,
    actor: Principal,
    policy_id: uuid.UUID,
    data: EscalationPolicyUpdate,
) -> EscalationPolicy:
    row = await get_policy(session, tenant_id=actor.tenant_id, policy_id=policy_id)
    before = snapshot(row)
    await POLICIES.rename(session, tenant_id=actor.tenant_id, row=row, name=data.name)
    if data.description is not None:
        row.description = data.description
    if data.levels is not None:
        await _ensure_receivers(session, actor.tenant_id, data.levels)
        row.levels = _levels_json(data.levels)
    if data.enabled is not None:
        row.enabled = data.enabled
    return await POLICIES.save(session, actor=actor, row=row, before=before)


async def delete_policy(
    session: AsyncSession, *, actor: Principal, policy_id: uuid.UUID, in_use: bool
) -> None:
    row = await get_policy(session, tenant_id=actor.tenant_id, policy_id=policy_id)
    if in_use:
        raise conflict(
            f"escalation policy {row.name!r} is still named by the routing tree", kind="in-use"
        )
    await POLICIES.remove(session, actor=actor, row=row)


def levels_due(levels: list[Any], unacknowledged_seconds: float) -> int:
    """How many levels (1-based count) are due after this long unacknowledged."""
    due = 0
    for index, level in enumerate(levels, start=1):
        if unacknowledged_seconds >= float(level["after_seconds"]):
            due = index
    return due
