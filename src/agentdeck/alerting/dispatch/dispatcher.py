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
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.alerting.dispatch.context import TenantContext, load_context, tenants_with_work
from agentdeck.alerting.dispatch.escalation import direct_and_escalation
from agentdeck.alerting.dispatch.groups import flush, join_groups, routed
from agentdeck.alerting.dispatch.models import AlertDispatch, NotificationGroup
from agentdeck.alerting.dispatch.muting import recompute_muting
from agentdeck.alerting.dispatch.payload import decision
from agentdeck.alerting.models import Alert, AlertStatus
from agentdeck.alerting.routing import inhibition, silences
from agentdeck.alerting.routing.service import get_policy
from agentdeck.alerting.routing.tree import ResolvedRoute, compile_tree, key_hash
from agentdeck.db.base import utcnow
from agentdeck.loops.base import Loop

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Round:
    """One tenant's dispatch round: its alerts (unresolved, or resolved with notifications
    still owed), their dispatch memory, the notification groups and the routes found."""

    ctx: TenantContext
    alerts: list[Alert]
    by_id: dict[str, Alert]
    groups: dict[str, NotificationGroup]
    states: dict[uuid.UUID, AlertDispatch]
    routes_of: dict[uuid.UUID, list[ResolvedRoute]] = field(default_factory=dict)
    route_by_hash: dict[str, ResolvedRoute] = field(default_factory=dict)


async def dispatch_tenant(
    session: AsyncSession, *, tenant_id: uuid.UUID, now: datetime, external_url: str = ""
) -> int:
    """One dispatch round for a tenant, in the caller's transaction; returns rows enqueued."""
    ctx = await load_context(session, tenant_id, now, external_url)
    work = await _load(session, ctx)
    unmuted = recompute_muting(
        ctx,
        work.alerts,
        work.states,
        await silences.active_silences(session, tenant_id=tenant_id, now=now),
        await inhibition.enabled_rules(session, tenant_id=tenant_id),
    )
    await _route(session, work, unmuted)
    await _flush_groups(session, work)
    await direct_and_escalation(ctx, session, work.alerts, work.states, work.routes_of)
    _settle(work)
    for index, event in enumerate(ctx.events):
        if event.kind == "decision":  # keeps the order of steps written in the same instant
            event.data = {**event.data, "seq": index}
    session.add_all(ctx.events)
    await session.flush()
    return ctx.enqueued


async def _load(session: AsyncSession, ctx: TenantContext) -> _Round:
    """The round's alerts, groups (and their members' alerts) and dispatch memory (new
    memory rows for alerts seen for the first time)."""
    tenant_id = ctx.tenant_id
    pending_states = select(AlertDispatch.alert_id).where(
        AlertDispatch.tenant_id == tenant_id, AlertDispatch.done.is_(False)
    )
    alerts = list(
        await session.scalars(
            select(Alert).where(
                Alert.tenant_id == tenant_id,
                (Alert.status != AlertStatus.resolved) | Alert.id.in_(pending_states),
            )
        )
    )
    groups = {
        g.key_hash: g
        for g in await session.scalars(
            select(NotificationGroup).where(NotificationGroup.tenant_id == tenant_id)
        )
    }
    by_id = {str(a.id): a for a in alerts}
    missing = {m for g in groups.values() for m in g.members if m not in by_id}
    if missing:
        extra = await session.scalars(
            select(Alert).where(
                Alert.tenant_id == tenant_id, Alert.id.in_([uuid.UUID(m) for m in missing])
            )
        )
        by_id.update((str(alert.id), alert) for alert in extra)
    ids = [a.id for a in alerts]
    states: dict[uuid.UUID, AlertDispatch] = {}
    if ids:
        found = await session.scalars(select(AlertDispatch).where(AlertDispatch.alert_id.in_(ids)))
        states = {s.alert_id: s for s in found}
    for alert in alerts:
        if alert.id not in states:
            states[alert.id] = AlertDispatch(
                alert_id=alert.id, tenant_id=tenant_id, state={}, done=False
            )
            session.add(states[alert.id])
    return _Round(ctx, alerts, by_id, groups, states)


async def _route(session: AsyncSession, work: _Round, unmuted: set[uuid.UUID]) -> None:
    """Each alert's routes through the tenant's policy tree (a ``route`` decision when they
    changed); unresolved alerts join the groups of their routes."""
    ctx = work.ctx
    policy = await get_policy(session, tenant_id=ctx.tenant_id)
    tree = compile_tree(policy.tree if policy is not None else {})
    for alert in work.alerts:
        labels = silences.alert_labels(alert)
        routes = tree.match(labels)
        work.routes_of[alert.id] = routes
        keys = []
        for route in routes:
            key = route.group_key(labels)
            work.route_by_hash[key_hash(key)] = route
            keys.append(key)
        if alert.status is AlertStatus.resolved:
            continue
        holder = work.states[alert.id]
        if holder.state.get("routes") != keys:
            for route, key in zip(routes, keys, strict=True):
                ctx.events.append(_route_decision(ctx, alert, route, key))
            holder.state = {**holder.state, "routes": keys}
        join_groups(ctx, session, work.groups, alert, routes, labels, alert.id in unmuted)


def _route_decision(ctx: TenantContext, alert: Alert, route: ResolvedRoute, key: str) -> Any:
    receiver = ctx.receivers.get(str(route.receiver_id)) if route.receiver_id else None
    return decision(
        alert,
        at=ctx.now,
        step="route",
        message=f"route {route.path} matched: receiver "
        f"{receiver.name if receiver else 'none (not notified)'}",
        route=route.path,
        receiver_id=route.receiver_id,
        group_key=key,
    )


async def _flush_groups(session: AsyncSession, work: _Round) -> None:
    """Groups lose the unresolved members no longer routed to them (the tree changed), send
    when their flush is due, and are dropped once empty."""
    live = {str(a.id) for a in work.alerts if a.status != AlertStatus.resolved}
    by_id = work.by_id
    for group in list(work.groups.values()):
        group_route = work.route_by_hash.get(group.key_hash)
        members = {
            m: v
            for m, v in group.members.items()
            if m in by_id
            and (
                m not in live
                or (group_route is not None and routed(by_id[m], group, work.routes_of))
            )
        }
        if members != group.members:
            group.members = members
        if group.next_flush_at is not None and group.next_flush_at <= work.ctx.now:
            await flush(work.ctx, session, group, group_route, by_id)
        if not group.members:
            if group in session.new:
                session.expunge(group)
            else:
                await session.delete(group)
            work.groups.pop(group.key_hash)


def _settle(work: _Round) -> None:
    """A resolved alert owed nothing more (no group holds it, its direct and escalation
    notifications are sent) is done."""
    in_groups = {m for g in work.groups.values() for m in g.members}
    for alert in work.alerts:
        holder = work.states[alert.id]
        if (
            alert.status is AlertStatus.resolved
            and str(alert.id) not in in_groups
            and direct_done(holder.state, alert)
        ):
            holder.done = True


def direct_done(state: dict[str, Any], alert: Alert) -> bool:
    rule_ok = not state.get("rule_channels") or state.get("rule_resolved", False)
    esc_ok = alert.escalation_level == 0 or state.get("esc_resolved", False)
    return bool(rule_ok and esc_ok)


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
