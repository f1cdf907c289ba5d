"""Anomalies → alerts, through the alert lifecycle (``alerting.alerts.lifecycle``).

An anomaly at or above ``logstreams.alert_min_severity`` (high by default) raises one alert
with source ``logs``; it is then routed, silenced, inhibited, escalated and acknowledged like
any alert. Its identity (fingerprint) is the anomaly's: service, type and template (the one
template of its evidence, when it has exactly one). While that alert is unresolved, the same
anomaly recurring updates it (annotations, last seen, severity raised if worse, a
``recurred`` event on its timeline) instead of opening another; once resolved, a recurrence
raises a new alert.

The alert starts when it is raised (the analysis), so escalation counts from when someone
could first know of it: a backfill or a replay of lines from hours ago does not jump to a late
escalation level at its first routing. Its annotations carry the lines' window
(``window_start``, ``window_end``; a recurrence widens it to span every anomaly of the alert)
and the agent of the evidence lines when they share one, so the alert's page links to the logs
that were analysed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts import lifecycle
from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.models import Alert, AlertSource, AlertStatus, Severity
from agentdeck.logintel.analysis import AnomalyDraft
from agentdeck.logintel.anomalies.models import Anomaly

ALERT_NAME = "LogAnomaly"
#: Anomaly severity → alert severity.
ALERT_SEVERITY = {
    "low": Severity.info,
    "medium": Severity.warning,
    "high": Severity.error,
    "critical": Severity.critical,
}
RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3, "none": 99}
_ALERT_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2, Severity.critical: 3}


def template_key(draft: AnomalyDraft) -> str:
    """The template part of an anomaly's identity: its one evidence template, else empty."""
    ids = draft.evidence_template_ids
    return str(ids[0]) if len(ids) == 1 else ""


def anomaly_fingerprint(service: str, anomaly_type: str, template: str) -> str:
    labels = {"alertname": ALERT_NAME, "service": service, "anomaly_type": anomaly_type}
    return fingerprint({**labels, "template": template})


def anomaly_path(anomaly: Anomaly) -> str:
    """Where the UI shows the anomaly (relative to the server's base URL)."""
    return f"/anomalies/{anomaly.id}"


def evidence_agent(anomaly: Anomaly) -> str:
    """The agent of every evidence line (``[id, ts_ns, service, severity, message, agent,
    template]``) when they share one, else empty."""
    agents = {row[5] for row in anomaly.evidence_lines if len(row) > 5}
    return str(agents.pop() or "") if len(agents) == 1 else ""


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _widened(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """A recurrence's annotations, with the window spanning every anomaly of the alert (so its
    Logs link covers all their lines) and the agent only while they all share it."""
    merged = dict(after)
    try:
        starts = [datetime.fromisoformat(a["window_start"]) for a in (before, after)]
        ends = [datetime.fromisoformat(a["window_end"]) for a in (before, after)]
    except (KeyError, ValueError):  # an alert raised before windows were annotated
        return merged
    merged["window_start"] = _iso(min(starts))
    merged["window_end"] = _iso(max(ends))
    if before.get("agent") != after.get("agent"):
        merged.pop("agent", None)
    return merged


def wants_alert(severity: str, min_severity: str) -> bool:
    return RANK.get(severity, 0) >= RANK[min_severity]


async def raise_or_update(
    session: AsyncSession,
    anomaly: Anomaly,
    *,
    template: str,
    external_url: str,
    now: datetime,
) -> tuple[Alert, str]:
    """The anomaly's alert: a new one (``created``) or its unresolved one (``updated``)."""
    severity = ALERT_SEVERITY.get(anomaly.severity, Severity.warning)
    url = external_url.rstrip("/") + anomaly_path(anomaly)
    annotations = {
        "summary": anomaly.description[:500],
        "description": anomaly.explanation[:2000] or anomaly.description,
        "anomaly_id": str(anomaly.id),
        "anomaly_url": url,
        "batch_id": str(anomaly.batch_id or ""),
        "stream": anomaly.stream_name,
        "evidence_lines": str(anomaly.evidence_count),
        "window_start": _iso(anomaly.window_start),
        "window_end": _iso(anomaly.window_end),
    }
    agent = evidence_agent(anomaly)
    if agent:
        annotations["agent"] = agent
    existing = await session.scalar(
        select(Alert)
        .where(
            Alert.tenant_id == anomaly.tenant_id,
            Alert.source == AlertSource.logs,
            Alert.fingerprint == anomaly.fingerprint,
            Alert.status != AlertStatus.resolved,
        )
        .order_by(Alert.starts_at.desc())
        .limit(1)
    )
    if existing is not None:
        existing.annotations = _widened(existing.annotations or {}, annotations)
        existing.last_seen_at = now
        existing.generator_url = url
        if _ALERT_RANK[severity] > _ALERT_RANK[existing.severity]:
            existing.severity = severity
            existing.labels = {**existing.labels, "severity": severity.value}
        lifecycle.add_event(
            session,
            existing,
            "recurred",
            at=now,
            message=anomaly.description[:2000],
            data={"anomaly_id": str(anomaly.id)},
        )
        return existing, "updated"
    labels = {
        "alertname": ALERT_NAME,
        "source": "logs",
        "service": anomaly.service,
        "anomaly_type": anomaly.anomaly_type,
        "severity": severity.value,
    }
    if template:
        labels["template"] = template
    new = lifecycle.NewAlert(
        tenant_id=anomaly.tenant_id,
        source=AlertSource.logs,
        rule_name=ALERT_NAME,
        fingerprint=anomaly.fingerprint,
        labels={k: v for k, v in labels.items() if v},
        annotations=annotations,
        severity=severity,
        generator_url=url,
        data={"anomaly_id": str(anomaly.id)},
    )
    alert = await lifecycle.raise_alert(
        session,
        new,
        at=now,
        message=f"log anomaly: {anomaly.description[:1900]}",
    )
    return alert, "created"
