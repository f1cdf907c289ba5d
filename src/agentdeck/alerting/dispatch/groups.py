"""Notification groups in a dispatch round: alerts join the groups of their routes, and a
group due for its flush sends one notification for its members (group_wait, group_interval,
repeat_interval, as Alertmanager)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.dispatch.context import TenantContext
from agentdeck.alerting.dispatch.models import NotificationGroup
from agentdeck.alerting.dispatch.muting import is_muted
from agentdeck.alerting.dispatch.payload import build_payload, decision
from agentdeck.alerting.models import Alert, AlertStatus
from agentdeck.alerting.routing import silences
from agentdeck.alerting.routing.tree import ResolvedRoute, key_hash


def routed(
    alert: Alert,
    group: NotificationGroup,
    routes_of: dict[uuid.UUID, list[ResolvedRoute]],
) -> bool:
    labels = silences.alert_labels(alert)
    return any(key_hash(r.group_key(labels)) == group.key_hash for r in routes_of.get(alert.id, []))


def join_groups(
    ctx: TenantContext,
    session: AsyncSession,
    groups: dict[str, NotificationGroup],
    alert: Alert,
    routes: list[ResolvedRoute],
    labels: dict[str, str],
    unmuted: bool,
) -> None:
    now = ctx.now
    for route in routes:
        if route.receiver_id is None:
            continue
        key = route.group_key(labels)
        digest = key_hash(key)
        group = groups.get(digest)
        if group is None:
            group = NotificationGroup(
                id=uuid.uuid4(),
                tenant_id=ctx.tenant_id,
                group_key=key[:1024],
                key_hash=digest,
                route_path=route.path,
                receiver_id=route.receiver_id,
                group_labels=route.group_labels(labels),
                members={},
                created_at=now,
                next_flush_at=None,
                last_notified_at=None,
                seq=0,
            )
            session.add(group)
            groups[digest] = group
        member = str(alert.id)
        if member not in group.members:
            group.members = {
                **group.members,
                member: {"notified": None, "added_at": now.isoformat()},
            }
            if group.next_flush_at is None:
                group.next_flush_at = now + timedelta(seconds=route.group_wait)
                message = f"new group {key}: waiting group_wait {route.group_wait:g}s"
            else:
                message = (
                    f"joined group {key}: next notification at {group.next_flush_at.isoformat()}"
                )
            ctx.events.append(
                decision(
                    alert,
                    at=now,
                    step="group",
                    message=message,
                    group_key=key,
                    flush_at=group.next_flush_at.isoformat(),
                )
            )
        elif unmuted and group.members[member].get("notified") != "firing":
            group.next_flush_at = now
            ctx.events.append(
                decision(
                    alert,
                    at=now,
                    step="group",
                    group_key=key,
                    message="muting ended while still firing: notifying at once",
                )
            )


async def flush(
    ctx: TenantContext,
    session: AsyncSession,
    group: NotificationGroup,
    route: ResolvedRoute | None,
    by_id: dict[str, Alert],
) -> None:
    now = ctx.now
    interval = route.group_interval if route else 300.0
    repeat = route.repeat_interval if route else 4 * 3600.0
    members = dict(group.members)
    alerts = [by_id[m] for m in members]
    firing = [a for a in alerts if a.status != AlertStatus.resolved and not is_muted(a)]
    resolved = [
        a
        for a in alerts
        if a.status is AlertStatus.resolved and members[str(a.id)].get("notified") == "firing"
    ]
    new_firing = any(members[str(a.id)].get("notified") != "firing" for a in firing)
    repeat_due = (
        group.last_notified_at is not None
        and (now - group.last_notified_at).total_seconds() >= repeat
        and any(a.status is AlertStatus.active for a in firing)
    )
    if (firing or resolved) and (new_firing or resolved or repeat_due):
        await _send_group(ctx, session, group, firing + resolved)
        group.last_notified_at = now
        for a in firing:
            members[str(a.id)] = {**members[str(a.id)], "notified": "firing"}
    for a in alerts:
        if a.status is AlertStatus.resolved:
            members.pop(str(a.id), None)  # sent above, or never notified
    group.members = members
    group.next_flush_at = now + timedelta(seconds=interval) if members else None


async def _send_group(
    ctx: TenantContext, session: AsyncSession, group: NotificationGroup, alerts: list[Alert]
) -> None:
    receiver = ctx.receivers.get(str(group.receiver_id))
    group.seq += 1
    dedup_key = f"grp:{group.key_hash[:40]}:{group.seq}"
    event = "firing" if any(a.status != AlertStatus.resolved for a in alerts) else "resolved"
    channels = ctx.channels_of([group.receiver_id]) if receiver else []
    if not channels:
        for alert in alerts:
            ctx.events.append(
                decision(
                    alert,
                    at=ctx.now,
                    step="no-channel",
                    group_key=group.group_key,
                    message="receiver has no enabled channel: nothing sent",
                )
            )
        return
    payload = build_payload(
        alerts=alerts,
        event=event,
        receiver=receiver.name if receiver else "",
        group_key=group.group_key,
        group_labels=group.group_labels,
        tenant_slug=ctx.slug,
        external_url=ctx.external_url,
    )
    await ctx.queue(
        session,
        alerts,
        channels=channels,
        event=event,
        dedup_key=dedup_key,
        payload=payload,
        group_key=group.group_key,
        what=f"{event} notification to receiver {receiver.name if receiver else '?'}",
    )
