"""Per-alert notifications of the dispatcher: a rule's own ``channel_ids`` and escalation.

Rule channels get the firing notification at once (unless muted) and the resolved one after.
Escalation: an active (unacknowledged), unmuted alert past a level's ``after_seconds`` notifies
that level's receivers; acknowledging stops it; resolving notifies every level notified.
Dedup keys are built from the alert id and its start, so replays queue nothing twice.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.dispatch.payload import build_payload, timeline
from agentdeck.alerting.models import Alert, AlertRule, AlertStatus
from agentdeck.alerting.routing.escalation import levels_due
from agentdeck.alerting.routing.tree import ResolvedRoute

if TYPE_CHECKING:
    from agentdeck.alerting.dispatch.context import TenantContext
    from agentdeck.alerting.dispatch.models import AlertDispatch


def _stamp(alert: Alert) -> int:
    return int(alert.starts_at.timestamp())


async def _send(
    ctx: TenantContext,
    session: AsyncSession,
    alert: Alert,
    *,
    channels: list[uuid.UUID],
    event: str,
    dedup_key: str,
    receiver: str,
    step: str,
    escalation_level: int = 0,
) -> None:
    key = f"{step}:{alert.id}"
    payload = build_payload(
        alerts=[alert],
        event=event,
        receiver=receiver,
        group_key=key,
        group_labels={},
        tenant_slug=ctx.slug,
        external_url=ctx.external_url,
        escalation_level=escalation_level,
    )
    await ctx.queue(
        session,
        [alert],
        channels=channels,
        event=event,
        dedup_key=dedup_key,
        payload=payload,
        group_key=key,
        what=f"{event} notification ({receiver})",
    )


async def _rule_channels(session: AsyncSession, alerts: list[Alert]) -> dict[uuid.UUID, list[Any]]:
    rule_ids = {a.rule_id for a in alerts if a.rule_id is not None}
    if not rule_ids:
        return {}
    rows = await session.execute(
        select(AlertRule.id, AlertRule.channel_ids).where(AlertRule.id.in_(rule_ids))
    )
    return {rid: list(cids or []) for rid, cids in rows}


async def direct_and_escalation(
    ctx: TenantContext,
    session: AsyncSession,
    alerts: list[Alert],
    states: dict[uuid.UUID, AlertDispatch],
    routes_of: dict[uuid.UUID, list[ResolvedRoute]],
) -> None:
    rule_channels = await _rule_channels(session, alerts)
    for alert in alerts:
        holder = states[alert.id]
        state = dict(holder.state)
        muted = bool(alert.silenced_by or alert.inhibited_by)
        resolved = alert.status is AlertStatus.resolved
        # --- the rule's own channels
        channels = ctx.live_channels(rule_channels.get(alert.rule_id, []) if alert.rule_id else [])
        if channels and not resolved and not muted and not state.get("rule_firing"):
            await _send(
                ctx,
                session,
                alert,
                channels=channels,
                event="firing",
                receiver="rule channels",
                dedup_key=f"rule:{alert.id}:{_stamp(alert)}:firing",
                step="rule",
            )
            state["rule_firing"] = True
            state["rule_channels"] = [str(c) for c in channels]
        if resolved and state.get("rule_firing") and not state.get("rule_resolved"):
            sent_to = ctx.live_channels(state.get("rule_channels", []))
            await _send(
                ctx,
                session,
                alert,
                channels=sent_to,
                event="resolved",
                receiver="rule channels",
                dedup_key=f"rule:{alert.id}:{_stamp(alert)}:resolved",
                step="rule",
            )
            state["rule_resolved"] = True
        # --- escalation
        if resolved:
            if alert.escalation_level > 0 and not state.get("esc_resolved"):
                notified = state.get("esc_channels", {})
                for level in range(1, alert.escalation_level + 1):
                    sent_to = ctx.live_channels(notified.get(str(level), []))
                    if sent_to:
                        await _send(
                            ctx,
                            session,
                            alert,
                            channels=sent_to,
                            event="resolved",
                            receiver=f"escalation level {level}",
                            dedup_key=f"esc:{alert.id}:{_stamp(alert)}:{level}:resolved",
                            step="escalation",
                            escalation_level=level,
                        )
                state["esc_resolved"] = True
        elif alert.status is AlertStatus.active and not muted:
            await _escalate(ctx, session, alert, state, routes_of.get(alert.id, []))
        if state != holder.state:
            holder.state = state


async def _escalate(
    ctx: TenantContext,
    session: AsyncSession,
    alert: Alert,
    state: dict[str, Any],
    routes: list[ResolvedRoute],
) -> None:
    policy = next(
        (
            ctx.policies[str(r.escalation_policy_id)]
            for r in routes
            if r.escalation_policy_id is not None and str(r.escalation_policy_id) in ctx.policies
        ),
        None,
    )
    if policy is None or not policy.enabled or not policy.levels:
        return
    unacknowledged = (ctx.now - alert.starts_at).total_seconds()
    due = levels_due(policy.levels, unacknowledged)
    if due <= alert.escalation_level:
        return
    notified = dict(state.get("esc_channels", {}))
    for level in range(alert.escalation_level + 1, due + 1):
        spec = policy.levels[level - 1]
        channels = ctx.channels_of(list(spec.get("receiver_ids", [])))
        names = [
            ctx.receivers[str(r)].name
            for r in spec.get("receiver_ids", [])
            if str(r) in ctx.receivers
        ]
        await _send(
            ctx,
            session,
            alert,
            channels=channels,
            event="escalation",
            receiver=", ".join(names) or f"escalation level {level}",
            dedup_key=f"esc:{alert.id}:{_stamp(alert)}:{level}",
            step="escalation",
            escalation_level=level,
        )
        notified[str(level)] = [str(c) for c in channels]
        ctx.events.append(
            timeline(
                alert,
                at=ctx.now,
                kind="escalated",
                message=f"escalated to level {level} of {policy.name!r} after "
                f"{unacknowledged:.0f}s unacknowledged",
                level=level,
                policy_id=str(policy.id),
            )
        )
    state["esc_channels"] = notified
    state["esc_policy"] = str(policy.id)
    alert.escalation_level = due
    alert.escalated_at = ctx.now
