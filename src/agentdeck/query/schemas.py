"""Shapes of the query routes: the Prometheus envelope, metric summaries and raw samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class PromResponse(BaseModel):
    """A Prometheus HTTP API envelope."""

    status: Literal["success"]
    data: Any = Field(description="resultType and result, or a list, as Prometheus returns.")


class MetricSummary(BaseModel):
    metric: str
    agent: str
    count: int = Field(description="Samples in the window.")
    avg: float
    min: float
    max: float
    p50: float
    p95: float
    p99: float


class MetricSummaryList(BaseModel):
    start: datetime
    end: datetime
    items: list[MetricSummary]


class MetricSample(BaseModel):
    name: str
    labels: dict[str, str]
    ts_ms: int = Field(description="Milliseconds since the epoch.")
    value: float
