"""Telemetry request and response bodies (the JSON batch itself is parsed by hand, for speed)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.ingest.models import MetricType


class SampleErrorPublic(BaseModel):
    index: int = Field(description="Position of the refused sample in the request.")
    field: str = Field(description="The part at fault: name, value, timestamp, labels.<name>…")
    message: str


class IngestResponse(BaseModel):
    """What an ingest request did: samples stored, samples refused and why."""

    accepted: int
    rejected: int
    errors: list[SampleErrorPublic]


class SampleIn(BaseModel):
    """One sample of ``samples[]`` (documentation only: the body is parsed by hand)."""

    name: str = Field(description="Metric name, [a-zA-Z_:][a-zA-Z0-9_:]*.")
    value: float = Field(description="A finite JSON number.")
    timestamp: int | datetime | None = Field(
        None, description="Milliseconds since the epoch, or an RFC 3339 string; default now."
    )
    labels: dict[str, str] | None = None
    type: MetricType | None = None
    unit: str | None = None
    help: str | None = None


class MetricBatch(BaseModel):
    """``POST /api/v1/metrics/batch``: a ``samples`` list, a compact per-agent report, or both.

    Samples are numbered ``samples`` first, then the entries of ``values`` in order; errors
    name that number as ``index``.
    """

    samples: list[SampleIn] | None = None
    agent: str | None = Field(None, description="Compact form: the agent label of `values`.")
    timestamp: int | datetime | None = Field(
        None, description="Compact form: one timestamp for every entry of `values`."
    )
    values: dict[str, float] | None = Field(None, description="Compact form: name → value.")
    labels: dict[str, str] | None = Field(
        None, description="Compact form: labels added to every entry of `values`."
    )


class AgentMetricsReport(BaseModel):
    """The simple per-agent report; ``docs/metrics.md`` lists the metric each field becomes.

    ``requests``, ``errors``, ``tokens_in``, ``tokens_out`` and ``cost_usd`` are running
    totals since the agent started (they become counters); the others are current values.
    """

    model_config = ConfigDict(extra="forbid")

    timestamp: datetime | int | None = Field(
        None, description="Milliseconds since the epoch or RFC 3339; default now."
    )
    cpu_percent: float | None = Field(None, description="CPU use, 0–100 per core summed.")
    memory_percent: float | None = Field(None, description="Memory use, 0–100.")
    requests: float | None = Field(None, ge=0, description="Requests handled (running total).")
    errors: float | None = Field(None, ge=0, description="Failed requests (running total).")
    latency_ms: float | None = Field(None, ge=0, description="Recent request latency (ms).")
    tokens_in: float | None = Field(None, ge=0, description="Input tokens (running total).")
    tokens_out: float | None = Field(None, ge=0, description="Output tokens (running total).")
    cost_usd: float | None = Field(None, ge=0, description="Spend in USD (running total).")
    extra: dict[str, float] = Field(
        default_factory=dict, description="Further gauges: metric name → value."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every sample of the report."
    )


#: Report field → (metric name, extra labels, type, unit, help, scale).
AGENT_REPORT_METRICS: dict[str, tuple[str, dict[str, str], MetricType, str, str, float]] = {
    "cpu_percent": (
        "agent_cpu_percent",
        {},
        MetricType.gauge,
        "percent",
        "CPU use of the agent in percent.",
        1.0,
    ),
    "memory_percent": (
        "agent_memory_percent",
        {},
        MetricType.gauge,
        "percent",
        "Memory use of the agent in percent of its limit.",
        1.0,
    ),
    "requests": (
        "agent_requests_total",
        {},
        MetricType.counter,
        "",
        "Requests the agent handled.",
        1.0,
    ),
    "errors": (
        "agent_errors_total",
        {},
        MetricType.counter,
        "",
        "Requests the agent failed.",
        1.0,
    ),
    "latency_ms": (
        "agent_request_latency_seconds",
        {},
        MetricType.gauge,
        "seconds",
        "Recent request latency of the agent.",
        0.001,
    ),
    "tokens_in": (
        "agent_tokens_total",
        {"type": "input"},
        MetricType.counter,
        "",
        "LLM tokens used by the agent, by type (input, output).",
        1.0,
    ),
    "tokens_out": (
        "agent_tokens_total",
        {"type": "output"},
        MetricType.counter,
        "",
        "LLM tokens used by the agent, by type (input, output).",
        1.0,
    ),
    "cost_usd": (
        "agent_cost_usd_total",
        {},
        MetricType.counter,
        "usd",
        "LLM spend of the agent in US dollars.",
        1.0,
    ),
}


def metric_type_names() -> str:
    return ", ".join(t.value for t in MetricType)


__all__ = [
    "AGENT_REPORT_METRICS",
    "AgentMetricsReport",
    "IngestResponse",
    "MetricBatch",
    "SampleErrorPublic",
    "metric_type_names",
]
