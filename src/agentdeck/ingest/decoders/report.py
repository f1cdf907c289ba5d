"""The per-agent report (``POST /api/v1/agents/{id}/metrics``) as rows for the ingest core."""

from __future__ import annotations

import math

from agentdeck.ingest.batch import Batch, MetricMeta, Row
from agentdeck.ingest.decoders.json import parse_timestamp
from agentdeck.ingest.schemas import AGENT_REPORT_METRICS, AgentMetricsReport


def report_batch(report: AgentMetricsReport, *, agent_name: str) -> tuple[Batch, list[str]]:
    """One agent report as a batch, and the report field of each sample index.

    ``fields[i]`` is the report field sample ``i`` came from (``extra.<name>`` for extra
    values), used to name errors.
    """
    labels: dict[str, str] = {**report.labels, "agent": agent_name}
    ts: int | None = None
    batch = Batch(agents={agent_name})
    if report.timestamp is not None:
        parsed = parse_timestamp(report.timestamp)
        if isinstance(parsed, str):
            batch.refuse(0, "invalid_timestamp", "timestamp", parsed)
            return batch, []
        ts = parsed
    rows: list[Row] = []
    metadata: dict[str, MetricMeta] = {}
    fields: list[str] = []
    for field_name, (
        metric,
        extra_labels,
        kind,
        unit,
        help_text,
        scale,
    ) in AGENT_REPORT_METRICS.items():
        value = getattr(report, field_name)
        if value is None:
            continue
        index = len(fields)
        fields.append(field_name)
        if not math.isfinite(value):
            batch.refuse(index, "invalid_value", field_name, "value must be a finite number")
            continue
        rows.append(
            (
                metric,
                {**labels, **extra_labels} if extra_labels else labels,
                value * scale,
                ts,
                index,
            )
        )
        metadata[metric] = MetricMeta(metric, kind, unit, help_text)
    for name, value in report.extra.items():
        index = len(fields)
        fields.append(f"extra.{name}")
        if not math.isfinite(value):
            batch.refuse(index, "invalid_value", f"extra.{name}", "value must be a finite number")
            continue
        rows.append((name, labels, value, ts, index))
    batch.samples = rows
    batch.metadata = list(metadata.values())
    return batch, fields
