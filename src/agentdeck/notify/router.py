"""HTTP routes: `/api/v1/notification-channels` (admin) and `/api/v1/notification-deliveries`.

Viewers read the delivery log; admins manage channels, send tests and retry dead letters.
Channel secrets are write-only: responses list which secret fields are set.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from agentdeck.identity.roles import Role
from agentdeck.notify import deliveries
from agentdeck.notify import service as channels
from agentdeck.notify.crypto import SecretBox
from agentdeck.notify.models import ChannelKind
from agentdeck.notify.schemas import (
    ChannelCreate,
    ChannelKindList,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPublic,
    RetryResult,
    TestResult,
)
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Admin, SessionDep, SettingsDep, StateDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1", tags=["notifications"])
CHANNELS = "/notification-channels"


@router.get(f"{CHANNELS}/kinds", response_model=ChannelKindList)
async def list_notification_channel_kinds(principal: Admin) -> ChannelKindList:
    """The channel kinds with their config and secret fields (to build forms from)."""
    return ChannelKindList(items=channels.kinds())


@router.get(CHANNELS, response_model=Page[ChannelPublic])
async def list_notification_channels(
    principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    kind: ChannelKind | None = None,
    enabled: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ChannelPublic]:
    """The tenant's channels, newest first, filtered and paged."""
    rows, next_cursor = await channels.list_channels(
        session,
        tenant_id=principal.tenant_id,
        kind=kind,
        enabled=enabled,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    box = SecretBox.from_settings(settings)
    return Page[ChannelPublic](
        items=[channels.public(c, box) for c in rows], next_cursor=next_cursor, limit=limit
    )


@router.post(CHANNELS, response_model=ChannelPublic, status_code=status.HTTP_201_CREATED)
async def create_notification_channel(
    principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    body: ChannelCreate,
    response: Response,
) -> ChannelPublic:
    """Add a channel (422 naming each bad config/secret field; 409 on a duplicate name)."""
    box = SecretBox.from_settings(settings)
    channel = await channels.create_channel(session, actor=principal, data=body, box=box)
    await session.commit()
    response.headers["Location"] = f"{router.prefix}{CHANNELS}/{channel.id}"
    return channels.public(channel, box)


@router.get(CHANNELS + "/{channel_id}", response_model=ChannelPublic)
async def get_notification_channel(
    principal: Admin, session: SessionDep, settings: SettingsDep, channel_id: str
) -> ChannelPublic:
    channel = await channels.get_channel(
        session, tenant_id=principal.tenant_id, channel_id=parse_uuid(channel_id, "channel")
    )
    return channels.public(channel, SecretBox.from_settings(settings))


@router.patch(CHANNELS + "/{channel_id}", response_model=ChannelPublic)
async def update_notification_channel(
    principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    channel_id: str,
    body: ChannelUpdate,
) -> ChannelPublic:
    """Change some fields; secrets not sent are kept."""
    box = SecretBox.from_settings(settings)
    channel = await channels.update_channel(
        session,
        actor=principal,
        channel_id=parse_uuid(channel_id, "channel"),
        data=body,
        box=box,
    )
    await session.commit()
    return channels.public(channel, box)


@router.delete(CHANNELS + "/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_notification_channel(
    principal: Admin, session: SessionDep, channel_id: str
) -> None:
    """Delete a channel, its queued notifications and its delivery log."""
    await channels.delete_channel(
        session, actor=principal, channel_id=parse_uuid(channel_id, "channel")
    )
    await session.commit()


@router.post(CHANNELS + "/{channel_id}/test", response_model=TestResult)
async def test_notification_channel(
    principal: Admin, state: StateDep, channel_id: str
) -> TestResult:
    """Send a test notification through the outbox now; the attempt's result."""
    return await deliveries.send_test(
        state.sessions,
        actor=principal,
        channel_id=parse_uuid(channel_id, "channel"),
        settings=state.settings,
    )


@router.get("/notification-deliveries", response_model=Page[DeliveryPublic])
async def list_notification_deliveries(
    principal: Viewer,
    session: SessionDep,
    channel_id: uuid.UUID | None = None,
    alert_id: uuid.UUID | None = None,
    outbox_id: uuid.UUID | None = None,
    status: Annotated[
        str | None, Query(description="success, failure, dead, rate_limited or skipped.")
    ] = None,
    since: Annotated[datetime | None, Query(description="Attempts at or after (RFC 3339).")] = None,
    until: Annotated[datetime | None, Query(description="Attempts before (RFC 3339).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[DeliveryPublic]:
    """The delivery log: one entry per attempt, newest first."""
    items, next_cursor = await deliveries.list_deliveries(
        session,
        tenant_id=principal.tenant_id,
        channel_id=channel_id,
        alert_id=alert_id,
        outbox_id=outbox_id,
        status=status,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        admin=principal.role.allows(Role.admin),
    )
    return Page[DeliveryPublic](items=items, next_cursor=next_cursor, limit=limit)


@router.post("/notification-deliveries/{outbox_id}/retry", response_model=RetryResult)
async def retry_notification(principal: Admin, session: SessionDep, outbox_id: str) -> RetryResult:
    """Retry a dead-lettered notification now (attempts start again)."""
    result = await deliveries.retry_now(
        session, actor=principal, outbox_id=parse_uuid(outbox_id, "notification")
    )
    await session.commit()
    return result
