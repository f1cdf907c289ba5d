"""The per-agent report (``POST /api/v1/agents/{id}/metrics``) as rows for the ingest core."""

from __future__ import annotations

import math

from agentdeck.ingest.core import MetricMeta, Row, SampleError
from agentdeck.ingest.decoders.json import parse_timestamp
from agentdeck.ingest.schemas import AGENT_REPORT_METRICS, AgentMetricsReport


def report_rows(
    report: AgentMetricsReport, *, agent_name: str
) -> tuple[list[Row], list[MetricMeta], list[str], list[SampleError], list[str]]:
    """Rows, metadata and the report field of each row for one agent report.

    Returns ``(rows, metadata, fields, errors, reasons)``; ``fields[i]`` is the report field
    row ``i`` came from (``extra.<name>`` for extra values), used to name errors.
    """
    labels: dict[str, str] = {**report.labels, "agent": agent_name}
    ts: int | None = None
    errors: list[SampleError] = []
    reasons: list[str] = []
    if report.timestamp is not None:
        parsed = parse_timestamp(report.timestamp)
        if isinstance(parsed, str):
            return [], [], [], [SampleError(0, "timestamp", parsed)], ["invalid_timestamp"]
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
            errors.append(SampleError(index, field_name, "value must be a finite number"))
            reasons.append("invalid_value")
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
            errors.append(SampleError(index, f"extra.{name}", "value must be a finite number"))
            reasons.append("invalid_value")
            continue
        rows.append((name, labels, value, ts, index))
    return rows, list(metadata.values()), fields, errors, reasons
