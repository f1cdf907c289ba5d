"""What the dispatcher writes: outbox payloads (Alertmanager webhook v4 shaped) and the
``decision`` timeline events that ``GET /alerts/{id}/trace`` reads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agentdeck.alerting.models import Alert, AlertEvent, AlertStatus, Severity
from agentdeck.alerting.routing.silences import alert_labels

ZERO_TIME = "0001-01-01T00:00:00Z"
_SEVERITY_ORDER = [Severity.info, Severity.warning, Severity.error, Severity.critical]


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ZERO_TIME


def wire_status(alert: Alert) -> str:
    return "resolved" if alert.status is AlertStatus.resolved else "firing"


def _alert_entry(alert: Alert) -> dict[str, Any]:
    ended = alert.resolved_at or alert.ends_at if alert.status is AlertStatus.resolved else None
    return {
        "status": wire_status(alert),
        "labels": alert_labels(alert),
        "annotations": {str(k): str(v) for k, v in alert.annotations.items()},
        "startsAt": _iso(alert.starts_at),
        "endsAt": _iso(ended),
        "generatorURL": alert.generator_url or "",
        "fingerprint": alert.fingerprint,
    }


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def build_payload(
    *,
    alerts: Sequence[Alert],
    event: str,
    receiver: str,
    group_key: str,
    group_labels: Mapping[str, str],
    tenant_slug: str,
    external_url: str,
    escalation_level: int = 0,
) -> dict[str, Any]:
    """The channel-neutral message for these alerts (firing ones first)."""
    ordered = sorted(alerts, key=lambda a: (a.status is AlertStatus.resolved, a.starts_at))
    entries = [_alert_entry(a) for a in ordered]
    firing = any(e["status"] == "firing" for e in entries)
    severity = max((a.severity for a in ordered), key=_SEVERITY_ORDER.index, default=None)
    base = external_url.rstrip("/")
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": dict(group_labels),
        "commonLabels": _common([e["labels"] for e in entries]),
        "commonAnnotations": _common([e["annotations"] for e in entries]),
        "externalURL": base,
        "alerts": entries,
        "agentdeck": {
            "event": event,
            "alert_ids": [str(a.id) for a in ordered],
            "severity": severity.value if severity is not None else None,
            "escalation_level": escalation_level,
            "tenant": tenant_slug,
            "url": f"{base}/alerts/{ordered[0].id}" if ordered else base,
        },
    }


def decision(alert: Alert, *, at: datetime, step: str, message: str, **data: Any) -> AlertEvent:
    """One trace step on the alert's timeline."""
    clean = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in data.items()}
    return AlertEvent(
        tenant_id=alert.tenant_id,
        alert_id=alert.id,
        at=at,
        kind="decision",
        message=message[:2000],
        data={"step": step, **clean},
    )


def timeline(alert: Alert, *, at: datetime, kind: str, message: str, **data: Any) -> AlertEvent:
    return AlertEvent(
        tenant_id=alert.tenant_id, alert_id=alert.id, at=at, kind=kind, message=message, data=data
    )
