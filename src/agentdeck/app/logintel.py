"""Wiring of log intelligence's streams: the ingest listener, the batch processor (rule
detectors and, once configured, analysers such as the LLM) and their loops."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence

from agentdeck.logintel.analysis import Analyzer
from agentdeck.logintel.anomalies.processor import BatchProcessor
from agentdeck.logintel.detectors import default_detectors
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.streams.batcher import Batcher
from agentdeck.logintel.streams.buffers import StreamBuffers
from agentdeck.logintel.streams.loops import LogBatchLoop, LogIntelCleanupLoop, StreamFlushLoop
from agentdeck.logintel.templates.service import TemplateRegistry
from agentdeck.loops.base import Loop
from agentdeck.server.state import AppState


def template_lookup(
    registry: TemplateRegistry | None,
) -> Callable[[uuid.UUID, Sequence[int]], Mapping[int, str]] | None:
    """Template id → text from the tenant's miner (what it knows; merged ids resolve)."""
    if registry is None:
        return None

    def lookup(tenant_id: uuid.UUID, ids: Sequence[int]) -> Mapping[int, str]:
        entry = registry.tenants.get(tenant_id)
        if entry is None:
            return {}
        out: dict[int, str] = {}
        for cid in ids:
            text = entry.miner.template(entry.miner.resolve(cid))
            if text is not None:
                out[cid] = text
        return out

    return lookup


def start_streams(
    state: AppState, metrics: LogIntelMetrics, analyzers: Sequence[Analyzer] = ()
) -> None:
    """The streams' buffers on the ingest path (as a write listener) and their batcher."""
    settings = state.settings
    buffers = StreamBuffers(max_lines=settings.logstreams.max_buffered_lines, metrics=metrics)
    state.logs.add_listener(buffers.listener)
    processor = BatchProcessor(
        detectors=default_detectors(),
        analyzers=list(analyzers),
        metrics=metrics,
        templates=template_lookup(state.templates),
        alert_min_severity=settings.logstreams.alert_min_severity,
        external_url=settings.alerting.external_url,
    )
    state.log_streams = buffers
    state.log_batcher = Batcher(
        sessions=state.sessions, processor=processor, metrics=metrics, buffers=buffers
    )


def stream_loops(state: AppState, on_alert: Callable[[], None] | None) -> list[Loop]:
    """The flush loop (every replica), the batch loop and the cleanup loop (leased)."""
    if state.log_streams is None or state.log_batcher is None:
        return []
    config = state.settings.logstreams
    state.log_batcher.on_alert = on_alert
    batches = LogBatchLoop(batcher=state.log_batcher, interval=config.batch_interval_seconds)
    return [
        StreamFlushLoop(
            buffers=state.log_streams,
            sessions=state.sessions,
            interval=config.flush_interval_seconds,
            after_flush=batches.wake,
        ),
        batches,
        LogIntelCleanupLoop(
            sessions=state.sessions,
            retention_days=config.retention_days,
            interval=config.cleanup_interval_seconds,
        ),
    ]
