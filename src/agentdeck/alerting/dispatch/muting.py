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
            _announce(
                ctx, alert, "silenced", "silenced by", silenced_by, ("silences", "silence_ids")
            )
            alert.silenced_by = silenced_by
        if inhibited_by != list(alert.inhibited_by):
            _announce(
                ctx, alert, "inhibited", "inhibited by alert", inhibited_by, ("alerts", "alert_ids")
            )
            alert.inhibited_by = inhibited_by
        if was_muted and not (silenced_by or inhibited_by):
            unmuted.add(alert.id)
    return unmuted


def is_muted(alert: Alert) -> bool:
    return bool(alert.silenced_by or alert.inhibited_by)


def _announce(
    ctx: TenantContext, alert: Alert, state: str, by: str, ids: list[str], keys: tuple[str, str]
) -> None:
    """The timeline event and the decision for an alert now ``state`` by ``ids`` (or no
    longer, when ``ids`` is empty); ``keys`` name the ids in each one's data."""
    kind = state if ids else f"un{state}"
    timeline_key, decision_key = keys
    ctx.events.append(timeline(alert, at=ctx.now, kind=kind, message=kind, **{timeline_key: ids}))
    message = f"{by} {', '.join(ids)}: notifications held" if ids else f"no longer {state}"
    ctx.events.append(
        decision(alert, at=ctx.now, step=kind, message=message, **{decision_key: ids})
    )
