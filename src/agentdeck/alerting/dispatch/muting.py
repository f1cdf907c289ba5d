"""Muting in a dispatch round: each alert's silences and inhibitions recomputed, with their
timeline and decision events."""

from __future__ import annotations

import uuid
from typing import Any

from agentdeck.alerting.dispatch.context import TenantContext
from agentdeck.alerting.dispatch.models import AlertDispatch
from agentdeck.alerting.dispatch.payload import decision, timeline
from agentdeck.alerting.models import Alert, AlertStatus
from agentdeck.alerting.routing import inhibition, silences


def recompute_muting(
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
