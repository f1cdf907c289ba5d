"""Analyse one closed batch: every rule detector, then any analyser (the LLM), then store
the anomalies and raise alerts for the severe ones.

A detector that raises fails the batch (its error is kept; the other detectors' anomalies
are stored). An analyser reports its failures in its result (``error``): the rule anomalies
are kept and the batch completes; the error is noted on the batch. The analyser's
explanation, recommended actions and token usage are stored on the anomalies it drafted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert
from agentdeck.logintel.analysis import (
    AnalysisResult,
    Analyzer,
    AnomalyDraft,
    BatchContext,
    BatchLine,
    Detector,
)
from agentdeck.logintel.anomalies import alerts
from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.logintel.detectors.common import MAX_EVIDENCE_LINES
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.streams.models import LogBatch, LogStream

log = structlog.get_logger(__name__)

_ID = itemgetter(0)
#: Template ids → their text, for a tenant (the miner's view; may be partial).
TemplateLookup = Callable[[uuid.UUID, Sequence[int]], Mapping[int, str]]


def batch_lines(rows: Sequence[Sequence[Any]]) -> list[BatchLine]:
    """A batch's rows ``(id, ts_ns, service, severity, message, agent, template_id)`` as lines."""
    return list(map(BatchLine._make, rows))


def run_detectors(
    detectors: Sequence[Detector], context: BatchContext
) -> tuple[list[AnomalyDraft], list[str]]:
    """Every detector's drafts, and the errors of those that raised."""
    drafts: list[AnomalyDraft] = []
    errors: list[str] = []
    for detector in detectors:
        try:
            drafts.extend(detector.detect(context))
        except Exception as exc:
            log.exception("log_detector_failed", detector=detector.name)
            errors.append(f"{detector.name}: {exc!r}"[:500])
    return drafts, errors


@dataclass(slots=True)
class Outcome:
    anomalies: int = 0  # how many were stored
    alerts: list[tuple[Alert, str]] = field(default_factory=list)


class BatchProcessor:
    def __init__(
        self,
        *,
        detectors: Sequence[Detector],
        analyzers: Sequence[Analyzer] = (),
        metrics: LogIntelMetrics | None = None,
        templates: TemplateLookup | None = None,
        alert_min_severity: str = "high",
        external_url: str = "",
    ) -> None:
        self.detectors = list(detectors)
        self.analyzers = list(analyzers)
        self.metrics = metrics
        self.templates = templates
        self.alert_min_severity = alert_min_severity
        self.external_url = external_url

    def context(
        self, batch: LogBatch, stream: LogStream, rows: Sequence[Sequence[Any]]
    ) -> BatchContext:
        lines = batch_lines(rows)
        texts: Mapping[int, str] = {}
        if self.templates is not None:
            ids = sorted({line.template_id for line in lines if line.template_id is not None})
            texts = self.templates(batch.tenant_id, ids) if ids else {}
        return BatchContext(
            tenant_id=batch.tenant_id,
            stream_id=stream.id,
            stream_name=stream.name,
            batch_id=batch.id,
            lines=lines,
            templates=texts,
        )

    async def process(
        self,
        session: AsyncSession,
        batch: LogBatch,
        stream: LogStream,
        *,
        now: datetime,
        rows: Sequence[Sequence[Any]] | None = None,
    ) -> Outcome:
        """Analyse ``batch`` and store what was found in the caller's transaction (flushed by
        its commit; only alerts raised are flushed here, for the next batch's lookup); sets the
        batch's status (completed or failed), counts, errors and token usage. ``rows``: the
        batch's lines when the caller has them (else read from the batch)."""
        started = time.perf_counter()
        if rows is None:
            rows = batch.lines
        context = self.context(batch, stream, rows)
        drafts, errors = run_detectors(self.detectors, context)
        failed = bool(errors)
        llm: list[tuple[AnomalyDraft, AnalysisResult]] = []
        for analyzer in self.analyzers:
            try:
                result = await analyzer.analyze(context)
            except Exception as exc:  # the contract says it never raises; be safe anyway
                log.exception("log_analyzer_failed", analyzer=analyzer.name)
                result = AnalysisResult(error=f"{exc!r}"[:300])
            if result.error:
                errors.append(f"{analyzer.name}: {result.error}"[:500])
            batch.prompt_tokens += result.prompt_tokens
            batch.completion_tokens += result.completion_tokens
            llm.extend((draft, result) for draft in result.drafts)
        outcome = Outcome()
        found: list[tuple[AnomalyDraft, AnalysisResult | None]] = [(d, None) for d in drafts]
        found.extend(llm)
        # the lines by id, for the evidence (only when something was found)
        by_id = dict(zip(map(_ID, rows), rows, strict=True)) if found else {}
        values = [
            self._values(draft, batch, stream, by_id, now=now, result=usage)
            for draft, usage in found
        ]
        # an anomaly raising an alert is an ORM row (the alert names it); the others are
        # inserted in one statement, without an ORM object each
        wanted: list[tuple[Anomaly, AnomalyDraft]] = []
        quiet: list[dict[str, Any]] = []
        for row, (draft, _) in zip(values, found, strict=True):
            if alerts.wants_alert(row["severity"], self.alert_min_severity):
                anomaly = Anomaly(**row)
                session.add(anomaly)
                wanted.append((anomaly, draft))
            else:
                quiet.append(row)
        if quiet:
            await session.execute(insert(Anomaly), quiet)
        if wanted:
            await session.flush()  # the anomalies, before the alerts that name them
        for anomaly, draft in wanted:
            alert, action = await alerts.raise_or_update(
                session,
                anomaly,
                template=alerts.template_key(draft),
                external_url=self.external_url,
                now=now,
            )
            anomaly.alert_id = alert.id
            outcome.alerts.append((alert, action))
        outcome.anomalies = len(values)
        batch.status = "failed" if failed else "completed"
        batch.error = "; ".join(errors)[:2000]
        batch.processed_at = now
        batch.anomalies = outcome.anomalies
        stream.anomalies_total += outcome.anomalies
        if wanted:
            await session.flush()  # the alerts, for the next batch's lookup in this transaction
        if self.metrics is not None:
            self.metrics.processed.inc(len(context.lines))
            self.metrics.batches_done.labels(status=batch.status).inc()
            for row in values:
                self.metrics.anomalies.labels(
                    type=row["anomaly_type"], detector=row["detector"]
                ).inc()
            for _, action in outcome.alerts:
                self.metrics.alerts.labels(action=action).inc()
            self.metrics.analysis_seconds.observe(time.perf_counter() - started)
        return outcome

    @staticmethod
    def _values(
        draft: AnomalyDraft,
        batch: LogBatch,
        stream: LogStream,
        by_id: Mapping[str, Sequence[Any]],
        *,
        now: datetime,
        result: AnalysisResult | None,
    ) -> dict[str, Any]:
        """The anomaly's row (every column but ``alert_id``)."""
        ids = list(dict.fromkeys(draft.evidence_line_ids))[:MAX_EVIDENCE_LINES]
        lines = [list(by_id[i]) for i in ids if i in by_id]
        confidence = min(1.0, max(0.0, float(draft.confidence)))
        return {
            "id": uuid.uuid4(),
            "tenant_id": batch.tenant_id,
            "stream_id": stream.id,
            "stream_name": stream.name,
            "batch_id": batch.id,
            "anomaly_type": draft.anomaly_type.value,
            "severity": draft.severity.value,
            "service": draft.service[:256],
            "description": draft.description[:2000],
            "confidence": confidence,
            "detector": draft.detector[:64],
            "recommended_actions": [a[:500] for a in draft.recommended_actions[:20]],
            "explanation": draft.explanation,
            "evidence_count": draft.evidence_count or len(draft.evidence_line_ids),
            "evidence_line_ids": ids,
            "evidence_template_ids": list(dict.fromkeys(draft.evidence_template_ids)),
            "evidence_lines": lines,
            "fingerprint": alerts.anomaly_fingerprint(
                draft.service, draft.anomaly_type.value, alerts.template_key(draft)
            ),
            "detected_at": now,
            "window_start": batch.window_start or batch.opened_at,
            "window_end": batch.window_end or batch.created_at,
            "prompt_tokens": result.prompt_tokens if result is not None else 0,
            "completion_tokens": result.completion_tokens if result is not None else 0,
        }
