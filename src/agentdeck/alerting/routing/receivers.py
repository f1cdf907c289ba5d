"""Receivers: named sets of notification channels that routes and escalation levels point at.

Services flush; the caller commits. Every query is scoped to the caller's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.alerting.models import Receiver
from agentdeck.alerting.routing.references import ensure_known
from agentdeck.errors import conflict
from agentdeck.identity.principal import Principal
from agentdeck.notify.models import NotificationChannel

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
KIND = "receiver"  # audit resource type
Text = Annotated[str, StringConstraints(max_length=2000)]


class ReceiverCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Text = ""
    channel_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=50, description="At least one: a receiver notifies somewhere."
    )


class ReceiverUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Text | None = None
    channel_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=50)


class ReceiverPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    channel_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: Receiver) -> ReceiverPublic:
        return cls(
            id=r.id,
            name=r.name,
            description=r.description,
            channel_ids=[uuid.UUID(str(c)) for c in r.channel_ids],
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


async def ensure_channels(
    session: AsyncSession, *, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID], field: str
) -> None:
    """422 naming each channel id that is not one of the tenant's channels."""
    await ensure_known(
        session,
        id_column=NotificationChannel.id,
        tenant_column=NotificationChannel.tenant_id,
        tenant_id=tenant_id,
        refs=((c, ["body", field, i]) for i, c in enumerate(dict.fromkeys(ids))),
        what="channel",
        detail="unknown notification channels",
    )


def snapshot(r: Receiver) -> dict[str, Any]:
    return {"name": r.name, "description": r.description, "channel_ids": r.channel_ids}


RECEIVERS = crud.Named(Receiver, what="receiver", kind=KIND, snapshot=snapshot)


async def get_receiver(
    session: AsyncSession, *, tenant_id: uuid.UUID, receiver_id: uuid.UUID
) -> Receiver:
    return await RECEIVERS.get(session, tenant_id=tenant_id, ident=receiver_id)


async def list_receivers(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    channel_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Receiver], str | None]:
    keep = None
    if channel_id is not None:
        wanted = str(channel_id)

        def keep(r: Receiver) -> bool:
            return wanted in {str(c) for c in r.channel_ids}

    return await RECEIVERS.page(
        session, tenant_id=tenant_id, q=q, keep=keep, limit=limit, cursor=cursor
    )


async def create_receiver(
    session: AsyncSession, *, actor: Principal, data: ReceiverCreate
) -> Receiver:
    await RECEIVERS.ensure_name_free(session, tenant_id=actor.tenant_id, name=data.name)
    await ensure_channels(
        session, tenant_id=actor.tenant_id, ids=data.channel_ids, field="channel_ids"
    )
    row = Receiver(
        tenant_id=actor.tenant_id,
        name=data.name,
        description=data.description,
        channel_ids=[str(c) for c in dict.fromkeys(data.channel_ids)],
    )
    return await RECEIVERS.insert(session, actor=actor, row=row)


async def update_receiver(
    session: AsyncSession, *, actor: Principal, receiver_id: uuid.UUID, data: ReceiverUpdate
) -> Receiver:
    row = await get_receiver(session, tenant_id=actor.tenant_id, receiver_id=receiver_id)
    before = snapshot(row)
    await RECEIVERS.rename(session, tenant_id=actor.tenant_id, row=row, name=data.name)
    if data.description is not None:
        row.description = data.description
    if data.channel_ids is not None:
        await ensure_channels(
            session, tenant_id=actor.tenant_id, ids=data.channel_ids, field="channel_ids"
        )
        row.channel_ids = [str(c) for c in dict.fromkeys(data.channel_ids)]
    return await RECEIVERS.save(session, actor=actor, row=row, before=before)


async def delete_receiver(
    session: AsyncSession, *, actor: Principal, receiver_id: uuid.UUID, in_use: list[str]
) -> None:
    """Delete a receiver; 409 while the routing tree or an escalation policy names it."""
    row = await get_receiver(session, tenant_id=actor.tenant_id, receiver_id=receiver_id)
    if in_use:
        raise conflict(
            f"receiver {row.name!r} is still used by: {', '.join(in_use)}", kind="in-use"
        )
    await RECEIVERS.remove(session, actor=actor, row=row)
