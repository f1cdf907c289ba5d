"""The dispatcher: alerts -> muting -> routes -> groups -> outbox, once a second, leased.

Everything it decides for a tenant is written in one transaction with the outbox rows the
decision leads to: group state, per-alert memory, muting and escalation on the alert, timeline
``decision`` events. Dedup keys come from that durable state (group sequence numbers, alert
ids), so replaying a tick - after a crash, or by a second replica - queues nothing twice.

Beyond Alertmanager: a resolve is never lost to muting (an alert notified as firing sends its
resolved notification even while silenced or inhibited), and an alert still firing when its
silence or inhibition ends is notified at once instead of at the next group interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.alerting.dispatch.escalation import direct_and_escalation
from agentdeck.alerting.dispatch.models import AlertDispatch, NotificationGroup
from agentdeck.alerting.dispatch.payload import build_payload, decision, timeline
from agentdeck.alerting.models import Alert, AlertStatus, EscalationPolicy, Receiver
from agentdeck.alerting.routing import inhibition, silences
from agentdeck.alerting.routing.service import get_policy
from agentdeck.alerting.routing.tree import ResolvedRoute, compile_tree, key_hash
from agentdeck.db.base import utcnow
from agentdeck.identity.models import Tenant
from agentdeck.loops.base import Loop
from agentdeck.notify.models import NotificationChannel
from agentdeck.notify.outbox import enqueue

log = structlog.get_logger(__name__)


@dataclass
class TenantContext:
    """What one tenant's dispatch needs besides the alerts."""

    tenant_id: uuid.UUID
    slug: str
    now: datetime
    external_url: str
    receivers: dict[str, Receiver]
    channels: dict[str, bool]  # channel id -> enabled
    policies: dict[str, EscalationPolicy]
    enqueued: int = 0
    events: list[Any] = field(default_factory=list)

    def channels_of(self, receiver_ids: list[Any]) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        for rid in receiver_ids:
            receiver = self.receivers.get(str(rid))
            for cid in receiver.channel_ids if receiver else []:
                if self.channels.get(str(cid)) and uuid.UUID(str(cid)) not in out:
                    out.append(uuid.UUID(str(cid)))
        return out

    def live_channels(self, ids: list[Any]) -> list[uuid.UUID]:
        return [uuid.UUID(str(c)) for c in dict.fromkeys(map(str, ids)) if self.channels.get(c)]


async def tenants_with_work(session: AsyncSession) -> list[uuid.UUID]:
    stmt = union(
        select(Alert.tenant_id).where(Alert.status != AlertStatus.resolved),
        select(AlertDispatch.tenant_id).where(AlertDispatch.done.is_(False)),
        select(NotificationGroup.tenant_id),
    )
    return list((await session.scalars(stmt)).all())


async def _context(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime, external_url: str
) -> TenantContext:
    slug = await session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id)) or ""
    receivers = (
        await session.scalars(select(Receiver).where(Receiver.tenant_id == tenant_id))
    ).all()
    channels = await session.execute(
        select(NotificationChannel.id, NotificationChannel.enabled).where(
            NotificationChannel.tenant_id == tenant_id
        )
    )
    policies = (
        await session.scalars(
            select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant_id)
        )
    ).all()
    return TenantContext(
        tenant_id=tenant_id,
        slug=slug,
        now=now,
        external_url=external_url,
        receivers={str(r.id): r for r in receivers},
        channels={str(cid): bool(enabled) for cid, enabled in channels},
        policies={str(p.id): p for p in policies},
    )


def _muting(
    ctx: TenantContext,
    alerts: list[Alert],
    states: dict[uuid.UUID, AlertDispatch],
    active_silences: list[Any],
    rules: list[inhibition.CompiledInhibition],
) -> set[uuid.UUID]:
    """Recompute silenced_by / inhibited_by; returns the alerts unmuted by this tick."""
    firing = [
        (str(a.id), silences.alert_labels(a)) for a in alerts if a.status != AlertStatus.resolved
    ]
    inhibited = inhibition.inhibitions(rules, firing)
    unmuted: set[uuid.UUID] = set()
    for alert in alerts:
        if alert.status is AlertStatus.resolved:
            continue
        labels = silences.alert_labels(alert)
        silenced_by = silences.silencing(active_silences, labels)
        inhibited_by = inhibited.get(str(alert.id), [])
        was_muted = bool(alert.silenced_by or alert.inhibited_by)
        if silenced_by != list(alert.silenced_by):
            kind = "silenced" if silenced_by else "unsilenced"
            ctx.events.append(
                timeline(alert, at=ctx.now, kind=kind, message=kind, silences=silenced_by)
            )
            message = (
                f"silenced by {', '.join(silenced_by)}: notifications held"
                if silenced_by
                else "no longer silenced"
            )
            ctx.events.append(
                decision(
                    alert,
                    at=ctx.now,
                    step="silenced" if silenced_by else "unsilenced",
                    message=message,
                    silence_ids=silenced_by,
                )
            )
            alert.silenced_by = silenced_by
        if inhibited_by != list(alert.inhibited_by):
            kind = "inhibited" if inhibited_by else "uninhibited"
            ctx.events.append(
                timeline(alert, at=ctx.now, kind=kind, message=kind, alerts=inhibited_by)
            )
            message = (
                f"inhibited by alert {', '.join(inhibited_by)}: notifications held"
                if inhibited_by
                else "no longer inhibited"
            )
            ctx.events.append(
                decision(
                    alert,
                    at=ctx.now,
                    step="inhibited" if inhibited_by else "uninhibited",
                    message=message,
                    alert_ids=inhibited_by,
                )
            )
            alert.inhibited_by = inhibited_by
        if was_muted and not (silenced_by or inhibited_by):
            unmuted.add(alert.id)
    return unmuted


def is_muted(alert: Alert) -> bool:
    return bool(alert.silenced_by or alert.inhibited_by)


async def dispatch_tenant(
    session: AsyncSession, *, tenant_id: uuid.UUID, now: datetime, external_url: str = ""
) -> int:
    """One dispatch round for a tenant, in the caller's transaction; returns rows enqueued."""
    ctx = await _context(session, tenant_id, now, external_url)
    pending_states = select(AlertDispatch.alert_id).where(
        AlertDispatch.tenant_id == tenant_id, AlertDispatch.done.is_(False)
    )
    alerts = list(
        (
            await session.scalars(
                select(Alert).where(
                    Alert.tenant_id == tenant_id,
                    (Alert.status != AlertStatus.resolved) | Alert.id.in_(pending_states),
                )
            )
        ).all()
    )
    groups = {
        g.key_hash: g
        for g in (
            await session.scalars(
                select(NotificationGroup).where(NotificationGroup.tenant_id == tenant_id)
            )
        ).all()
    }
    by_id = {str(a.id): a for a in alerts}
    missing = {m for g in groups.values() for m in g.members if m not in by_id}
    if missing:
        extra = await session.scalars(
            select(Alert).where(
                Alert.tenant_id == tenant_id, Alert.id.in_([uuid.UUID(m) for m in missing])
            )
        )
        for alert in extra:
            by_id[str(alert.id)] = alert
    ids = [a.id for a in alerts]
    states = (
        {
            s.alert_id: s
            for s in (
                await session.scalars(select(AlertDispatch).where(AlertDispatch.alert_id.in_(ids)))
            ).all()
        }
        if ids
        else {}
    )
    for alert in alerts:
        if alert.id not in states:
            states[alert.id] = AlertDispatch(
                alert_id=alert.id, tenant_id=tenant_id, state={}, done=False
            )
            session.add(states[alert.id])

    unmuted = _muting(
        ctx,
        alerts,
        states,
        await silences.active_silences(session, tenant_id=tenant_id, now=now),
        await inhibition.enabled_rules(session, tenant_id=tenant_id),
    )
    policy = await get_policy(session, tenant_id=tenant_id)
    tree = compile_tree(policy.tree if policy is not None else {})
    routes_of: dict[uuid.UUID, list[ResolvedRoute]] = {}
    route_by_hash: dict[str, ResolvedRoute] = {}
    for alert in alerts:
        labels = silences.alert_labels(alert)
        routes = tree.match(labels)
        routes_of[alert.id] = routes
        keys = []
        for route in routes:
            key = route.group_key(labels)
            route_by_hash[key_hash(key)] = route
            keys.append(key)
        if alert.status is AlertStatus.resolved:
            continue
        state = dict(states[alert.id].state)
        if state.get("routes") != keys:
            for route, key in zip(routes, keys, strict=True):
                receiver = ctx.receivers.get(str(route.receiver_id)) if route.receiver_id else None
                ctx.events.append(
                    decision(
                        alert,
                        at=now,
                        step="route",
                        message=f"route {route.path} matched: receiver "
                        f"{receiver.name if receiver else 'none (not notified)'}",
                        route=route.path,
                        receiver_id=route.receiver_id,
                        group_key=key,
                    )
                )
            state["routes"] = keys
            states[alert.id].state = state
        _join_groups(ctx, session, groups, alert, routes, labels, alert.id in unmuted)

    live = {str(a.id) for a in alerts if a.status != AlertStatus.resolved}
    for group in list(groups.values()):
        group_route = route_by_hash.get(group.key_hash)
        # unresolved members no longer routed here (the tree changed) leave the group
        members = {
            m: v
            for m, v in group.members.items()
            if m in by_id
            and (m not in live or (group_route is not None and _routed(by_id[m], group, routes_of)))
        }
        if members != group.members:
            group.members = members
        if group.next_flush_at is not None and group.next_flush_at <= now:
            await _flush(ctx, session, group, group_route, by_id)
        if not group.members:
            if group in session.new:
                session.expunge(group)
            else:
                await session.delete(group)
            groups.pop(group.key_hash)

    await direct_and_escalation(ctx, session, alerts, states, routes_of)
    in_groups = {m for g in groups.values() for m in g.members}
    for alert in alerts:
        holder = states[alert.id]
        if (
            alert.status is AlertStatus.resolved
            and str(alert.id) not in in_groups
            and direct_done(holder.state, alert)
        ):
            holder.done = True
    for index, event in enumerate(ctx.events):
        if event.kind == "decision":  # keeps the order of steps written in the same instant
            event.data = {**event.data, "seq": index}
    session.add_all(ctx.events)
    await session.flush()
    return ctx.enqueued


def direct_done(state: dict[str, Any], alert: Alert) -> bool:
    rule_ok = not state.get("rule_channels") or state.get("rule_resolved", False)
    esc_ok = alert.escalation_level == 0 or state.get("esc_resolved", False)
    return bool(rule_ok and esc_ok)


def _routed(
    alert: Alert,
    group: NotificationGroup,
    routes_of: dict[uuid.UUID, list[ResolvedRoute]],
) -> bool:
    labels = silences.alert_labels(alert)
    return any(key_hash(r.group_key(labels)) == group.key_hash for r in routes_of.get(alert.id, []))


def _join_groups(
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


async def _flush(
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
    for channel_id in channels:
        if await enqueue(
            session,
            tenant_id=ctx.tenant_id,
            channel_id=channel_id,
            event=event,
            dedup_key=dedup_key,
            payload=payload,
            alert_id=alerts[0].id,
            group_key=group.group_key,
        ):
            ctx.enqueued += 1
    for alert in alerts:
        ctx.events.append(
            decision(
                alert,
                at=ctx.now,
                step="enqueued",
                message=f"{event} notification to receiver {receiver.name if receiver else '?'} "
                f"queued on {len(channels)} channel(s), dedup key {dedup_key}",
                event=event,
                channel_ids=[str(c) for c in channels],
                dedup_key=dedup_key,
                group_key=group.group_key,
            )
        )


class DispatcherLoop(Loop):
    """Runs :func:`dispatch_tenant` for every tenant with work, one transaction each."""

    name = "alert-dispatcher"
    lease = True
    initial_delay = 0.5

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        interval: float = 1.0,
        external_url: str = "",
        clock: Callable[[], datetime] = utcnow,
        on_enqueue: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.external_url = external_url
        self.clock = clock
        #: called after a tick that queued notifications (the app wakes the delivery worker)
        self.on_enqueue = on_enqueue

    async def tick(self) -> None:
        async with self.sessions() as session:
            tenants = await tenants_with_work(session)
        queued = 0
        for tenant_id in tenants:
            try:
                async with self.sessions() as session:
                    queued += await dispatch_tenant(
                        session,
                        tenant_id=tenant_id,
                        now=self.clock(),
                        external_url=self.external_url,
                    )
                    await session.commit()
            except Exception:
                log.exception("dispatch failed", tenant_id=str(tenant_id))
        if queued and self.on_enqueue is not None:
            self.on_enqueue()
