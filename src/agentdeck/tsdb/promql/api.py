"""The engine answering ``Store.query_instant`` / ``Store.query_range`` for a store that has no
query engine of its own (the embedded DuckDB store): evaluation under a timeout, and the
result in the shape of the Prometheus HTTP API's ``data`` (``resultType`` and ``result``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any
from uuid import UUID

from agentdeck.tsdb.base import QueryData, Store
from agentdeck.tsdb.promql import instant_query, range_query
from agentdeck.tsdb.promql.values import PromQLError, QueryTimeout, Scalar, String, Value, Vector


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it (``NaN``, ``+Inf``, no exponent needed)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if text.endswith(".0"):
        text = text[:-2]
    return text


def _seconds(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _check_unique(vector: Vector) -> None:
    seen: set[frozenset[tuple[str, str]]] = set()
    for labels in vector.labels:
        key = frozenset(labels.items())
        if key in seen:
            raise PromQLError("vector cannot contain metrics with the same labelset")
        seen.add(key)


def instant_data(value: Value, time_ms: int) -> QueryData:
    """An instant query's value as the Prometheus HTTP API's ``data``."""
    t = _seconds(time_ms)
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [t, format_value(float(value.values[0]))]}
    if isinstance(value, String):
        return {"resultType": "string", "result": [t, value.value]}
    _check_unique(value)
    result = [
        {"metric": labels, "value": [t, format_value(float(value.values[i, 0]))]}
        for i, labels in enumerate(value.labels)
        if value.mask[i, 0]
    ]
    return {"resultType": "vector", "result": result}


def range_data(value: Value, start_ms: int, end_ms: int, step_ms: int) -> QueryData:
    """A range query's value as the Prometheus HTTP API's ``data`` (a matrix)."""
    times = [_seconds(t) for t in range(start_ms, end_ms + 1, step_ms)]
    if isinstance(value, String):
        raise PromQLError(
            'invalid expression type "string" for range query, must be Scalar or instant Vector'
        )
    if isinstance(value, Scalar):
        points = [[t, format_value(float(v))] for t, v in zip(times, value.values, strict=True)]
        return {"resultType": "matrix", "result": [{"metric": {}, "values": points}]}
    _check_unique(value)
    result: list[dict[str, Any]] = []
    for i, labels in enumerate(value.labels):
        row, mask = value.values[i].tolist(), value.mask[i].tolist()
        points = [[times[n], format_value(v)] for n, v in enumerate(row) if mask[n]]
        if points:
            result.append({"metric": labels, "values": points})
    result.sort(key=lambda item: sorted(item["metric"].items()))
    return {"resultType": "matrix", "result": result}


async def _with_timeout(work: Coroutine[Any, Any, Value], timeout_s: float) -> Value:
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        raise QueryTimeout("query timed out in expression evaluation") from None


async def evaluate_instant(
    store: Store, tenant_id: UUID, query: str, time_ms: int, timeout_s: float
) -> QueryData:
    """``query`` at ``time_ms`` on our engine over ``store``'s samples."""
    value = await _with_timeout(instant_query(store, tenant_id, query, time_ms), timeout_s)
    return instant_data(value, time_ms)


async def evaluate_range(
    store: Store,
    tenant_id: UUID,
    query: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    timeout_s: float,
) -> QueryData:
    """``query`` from ``start_ms`` to ``end_ms`` every ``step_ms`` on our engine."""
    value = await _with_timeout(
        range_query(store, tenant_id, query, start_ms, end_ms, step_ms), timeout_s
    )
    return range_data(value, start_ms, end_ms, step_ms)
