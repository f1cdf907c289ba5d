"""The seed's two rules, exactly: an error-rate spike and a repeated error message."""

from __future__ import annotations

from agentdeck.logintel.analysis import (
    AnomalyDraft,
    AnomalySeverity,
    AnomalyType,
    BatchContext,
    BatchLine,
)
from agentdeck.logintel.detectors.common import (
    ERROR_SEVERITIES,
    line_ids,
    template_ids,
    top_service,
)


class ErrorSpike:
    """``error_spike`` when more than 10 % of the batch's lines are ERROR or CRITICAL
    (strictly: exactly 10 % is nothing); severity medium, high above 30 %; confidence 0.8.

    The comparison is done on integers (``errors * 10 > total``), so no rounding of the rate
    decides a boundary."""

    name = "error_spike"
    confidence = 0.8

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        total = len(batch.lines)
        errors = [line for line in batch.lines if line.severity in ERROR_SEVERITIES]
        if not total or len(errors) * 10 <= total:
            return []
        high = len(errors) * 10 > 3 * total
        rate = 100 * len(errors) / total
        return [
            AnomalyDraft(
                anomaly_type=AnomalyType.ERROR_SPIKE,
                severity=AnomalySeverity.HIGH if high else AnomalySeverity.MEDIUM,
                service=top_service(errors),
                description=f"High error rate: {rate:.1f}% ({len(errors)}/{total} lines)",
                confidence=self.confidence,
                detector=self.name,
                recommended_actions=(
                    "Look at the evidence lines for the first failure",
                    "Check recent deployments and configuration changes of the service",
                    "Check the service's dependencies (databases, upstream APIs)",
                ),
                evidence_line_ids=line_ids(errors),
                evidence_template_ids=template_ids(errors),
                evidence_count=len(errors),
            )
        ]


class UnusualPattern:
    """``unusual_pattern`` for each error message (ERROR or CRITICAL, same text exactly) that
    occurs at least 5 times in the batch (4 is nothing); severity medium, confidence 0.7. The
    description says how often: ``occurred 6 times``."""

    name = "unusual_pattern"
    threshold = 5
    confidence = 0.7

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        groups: dict[str, list[BatchLine]] = {}
        for line in batch.lines:
            if line.severity in ERROR_SEVERITIES:
                groups.setdefault(line.message, []).append(line)
        drafts = []
        for message, lines in groups.items():
            if len(lines) < self.threshold:
                continue
            shown = message if len(message) <= 200 else message[:197] + "..."
            drafts.append(
                AnomalyDraft(
                    anomaly_type=AnomalyType.UNUSUAL_PATTERN,
                    severity=AnomalySeverity.MEDIUM,
                    service=top_service(lines),
                    description=f"Repeated error: {shown!r} occurred {len(lines)} times",
                    confidence=self.confidence,
                    detector=self.name,
                    recommended_actions=(
                        "Find what the repeated error has in common (caller, input, host)",
                        "Check whether a retry loop repeats the failure",
                    ),
                    evidence_line_ids=line_ids(lines),
                    evidence_template_ids=template_ids(lines),
                    evidence_count=len(lines),
                )
            )
        return drafts
