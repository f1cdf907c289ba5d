"""Anomalies on the wire."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.logintel.streams.schemas import BatchLinePublic


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Evidence(BaseModel):
    template_ids: list[int]
    line_ids: list[str] = Field(description="At most 50 of the lines the anomaly covers.")


class AnomalyPublic(BaseModel):
    anomaly_id: uuid.UUID
    anomaly_type: str = Field(
        description="error_spike, latency_increase, unusual_pattern, resource_exhaustion, "
        "security_incident or performance_degradation."
    )
    severity: str = Field(description="low, medium, high or critical.")
    service: str
    description: str
    confidence_score: float = Field(ge=0, le=1)
    recommended_actions: list[str]
    explanation: str = Field(description="The LLM's explanation; empty for rule detectors.")
    detector: str = Field(description="The detector or analyser that found it.")
    evidence_count: int
    detected_at: datetime = Field(
        description="When the analysis found it (for backfilled lines, long after them)."
    )
    window_start: datetime = Field(
        description="When its lines happened: the earliest line of its batch (own timestamp)."
    )
    window_end: datetime = Field(description="The latest line of its batch (own timestamp).")
    stream_id: uuid.UUID | None
    stream: str
    batch_id: uuid.UUID | None
    evidence: Evidence
    alert_id: uuid.UUID | None = Field(description="The alert it raised or updated, if any.")
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def of(cls, a: Anomaly) -> AnomalyPublic:
        return cls(
            anomaly_id=a.id,
            anomaly_type=a.anomaly_type,
            severity=a.severity,
            service=a.service,
            description=a.description,
            confidence_score=a.confidence,
            recommended_actions=list(a.recommended_actions),
            explanation=a.explanation,
            detector=a.detector,
            evidence_count=a.evidence_count,
            detected_at=_aware(a.detected_at),
            window_start=_aware(a.window_start),
            window_end=_aware(a.window_end),
            stream_id=a.stream_id,
            stream=a.stream_name,
            batch_id=a.batch_id,
            evidence=Evidence(
                template_ids=[int(t) for t in a.evidence_template_ids],
                line_ids=[str(i) for i in a.evidence_line_ids],
            ),
            alert_id=a.alert_id,
            prompt_tokens=a.prompt_tokens,
            completion_tokens=a.completion_tokens,
        )


class AnomalyDetail(AnomalyPublic):
    lines: list[BatchLinePublic] = Field(description="The evidence lines themselves.")

    @classmethod
    def detail(cls, a: Anomaly) -> AnomalyDetail:
        return cls(
            **AnomalyPublic.of(a).model_dump(),
            lines=[BatchLinePublic.of(row) for row in a.evidence_lines],
        )


class AnomalyPage(BaseModel):
    items: list[AnomalyPublic]
    next_cursor: str | None = None
    limit: int
