"""Metric summaries (avg, min, max, percentiles per metric and agent) and raw sample pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import numpy as np

from agentdeck.tsdb.base import Matcher, MatchOp, Store

AGENT_LABEL = "agent"


async def summarize(
    store: Store, tenant_id: UUID, *, agent: str | None, start_ms: int, end_ms: int
) -> list[dict[str, Any]]:
    """One row per (metric, agent) with samples in ``[start_ms, end_ms]``."""
    matcher = (
        Matcher(AGENT_LABEL, MatchOp.eq, agent) if agent else Matcher(AGENT_LABEL, MatchOp.re, ".+")
    )
    found = await store.select(tenant_id, [matcher], start_ms, end_ms)
    groups: dict[tuple[str, str], list[np.ndarray]] = {}
    for series in found:
        groups.setdefault((series.name, series.labels.get(AGENT_LABEL, "")), []).append(
            series.values
        )
    rows: list[dict[str, Any]] = []
    for (name, agent_name), parts in sorted(groups.items()):
        values = np.concatenate(parts)
        p50, p95, p99 = np.quantile(values, [0.5, 0.95, 0.99])
        rows.append(
            {
                "metric": name,
                "agent": agent_name,
                "count": len(values),
                "avg": float(values.mean()),
                "min": float(values.min()),
                "max": float(values.max()),
                "p50": float(p50),
                "p95": float(p95),
                "p99": float(p99),
            }
        )
    return rows


def encode_position(series_rank: int, sample_rank: int) -> str:
    raw = json.dumps([series_rank, sample_rank]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[int, int]:
    """``(series, sample)`` to resume from; ``ValueError`` when malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        series_rank, sample_rank = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not isinstance(series_rank, int) or not isinstance(sample_rank, int):
        raise ValueError("malformed cursor")
    if series_rank < 0 or sample_rank < 0:
        raise ValueError("malformed cursor")
    return series_rank, sample_rank


async def samples_page(
    store: Store,
    tenant_id: UUID,
    *,
    matchers: Sequence[Matcher],
    start_ms: int,
    end_ms: int,
    limit: int,
    cursor: tuple[int, int] | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Samples ordered by series (labels) then time, ``limit`` from ``cursor`` on.

    The cursor is a position in that order, so it stays valid for a fixed ``end``; samples
    written behind it later are not revisited.
    """
    found = await store.select(tenant_id, matchers, start_ms, end_ms)
    series_rank, sample_rank = cursor or (0, 0)
    items: list[dict[str, Any]] = []
    for s_index in range(series_rank, len(found)):
        series = found[s_index]
        first = sample_rank if s_index == series_rank else 0
        take = min(len(series) - first, limit - len(items))
        ts = series.timestamps[first : first + take].tolist()
        vals = series.values[first : first + take].tolist()
        for t, v in zip(ts, vals, strict=True):
            items.append({"name": series.name, "labels": series.labels, "ts_ms": t, "value": v})
        if len(items) >= limit:
            next_first = first + take
            if next_first < len(series):
                return items, encode_position(s_index, next_first)
            if s_index + 1 < len(found):
                return items, encode_position(s_index + 1, 0)
            return items, None
    return items, None
