"""Query logic behind the Prometheus-compatible API: parameters, evaluation, result shapes.

On the embedded store queries run on our PromQL engine (:mod:`agentdeck.tsdb.promql`); on
VictoriaMetrics they are checked by the same parser and passed through to its own query API
with the tenant enforced by ``extra_label`` (and the tenant label stripped from the answer).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import Matcher, Store
from agentdeck.tsdb.promql import PromQLError, Scalar, String, Value, Vector
from agentdeck.tsdb.victoriametrics import TENANT_LABEL

DEFAULT_TIMEOUT_S = 120.0
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


class QueryTimeout(PromQLError):
    """The query ran past its timeout."""


def parse_time(text: str | None, default_ms: int, name: str) -> int:
    """Unix seconds (float) or RFC 3339, as Prometheus accepts; ms since the epoch."""
    if text is None or text == "":
        return default_ms
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise PromQLError(f'invalid parameter "{name}": cannot parse "{text}"') from None
        if moment.tzinfo is None:
            raise PromQLError(f'invalid parameter "{name}": a time zone is required') from None
        return round(moment.timestamp() * 1000)
    if not math.isfinite(seconds):
        raise PromQLError(f'invalid parameter "{name}": cannot parse "{text}"')
    return round(seconds * 1000)


def parse_duration_ms(text: str | None, default_ms: int | None, name: str) -> int:
    """Seconds (float) or a Prometheus duration such as ``1m30s``; ms."""
    if text is None or text == "":
        if default_ms is None:
            raise PromQLError(f'invalid parameter "{name}": required')
        return default_ms
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.fullmatch(text)
        if not match or not any(match.groups()):
            raise PromQLError(f'invalid parameter "{name}": cannot parse "{text}"') from None
        return sum(int(g) * unit for g, unit in zip(match.groups(), _UNITS_MS, strict=True) if g)
    if not math.isfinite(seconds) or seconds < 0:
        raise PromQLError(f'invalid parameter "{name}": cannot parse "{text}"')
    return round(seconds * 1000)


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


def instant_data(value: Value, time_ms: int) -> dict[str, Any]:
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


def range_data(value: Value, start_ms: int, end_ms: int, step_ms: int) -> dict[str, Any]:
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


async def _with_timeout(coro: Any, timeout_s: float) -> Value:
    try:
        result: Value = await asyncio.wait_for(coro, timeout_s)
    except TimeoutError:
        raise QueryTimeout("query timed out in expression evaluation") from None
    return result


async def instant_query(
    store: Store, tenant_id: UUID, query: str, time_ms: int, timeout_s: float
) -> dict[str, Any]:
    if store.backend == "victoriametrics":
        promql.parse(query)
        form = {"query": query, "time": str(time_ms / 1000), "timeout": f"{timeout_s}s"}
        return await _victoriametrics(store, tenant_id, "/api/v1/query", form)
    value = await _with_timeout(promql.instant_query(store, tenant_id, query, time_ms), timeout_s)
    return instant_data(value, time_ms)


async def range_query(
    store: Store,
    tenant_id: UUID,
    query: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    timeout_s: float,
) -> dict[str, Any]:
    if step_ms <= 0:
        raise PromQLError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if end_ms < start_ms:
        raise PromQLError("end timestamp must not be before start time")
    if (end_ms - start_ms) // step_ms + 1 > promql.MAX_POINTS:
        raise PromQLError(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
            "query resolution (?step=XX)"
        )
    if store.backend == "victoriametrics":
        promql.parse(query)
        form = {
            "query": query,
            "start": str(start_ms / 1000),
            "end": str(end_ms / 1000),
            "step": f"{step_ms}ms",
            "timeout": f"{timeout_s}s",
            "nocache": "1",
        }
        return await _victoriametrics(store, tenant_id, "/api/v1/query_range", form)
    value = await _with_timeout(
        promql.range_query(store, tenant_id, query, start_ms, end_ms, step_ms), timeout_s
    )
    return range_data(value, start_ms, end_ms, step_ms)


async def _victoriametrics(
    store: Store, tenant_id: UUID, path: str, form: dict[str, str]
) -> dict[str, Any]:
    url = str(getattr(store, "url", "")).rstrip("/")
    form = {**form, "extra_label": f"{TENANT_LABEL}={tenant_id}"}
    async with httpx.AsyncClient(base_url=url, timeout=None) as client:
        response = await client.post(path, data=form)
    body = response.json()
    if body.get("status") != "success":
        raise PromQLError(str(body.get("error", "query failed")))
    data: dict[str, Any] = body["data"]
    result = data.get("result")
    if isinstance(result, list):
        for item in result:
            if isinstance(item, dict):
                item.get("metric", {}).pop(TENANT_LABEL, None)
    return data


def selectors(match: Sequence[str]) -> list[list[Matcher]]:
    return [promql.parse_selector(text) for text in match]


async def series(
    store: Store, tenant_id: UUID, match: Sequence[str], start_ms: int | None, end_ms: int | None
) -> list[dict[str, str]]:
    if not match:
        raise PromQLError("no match[] parameter provided")
    found: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for matchers in selectors(match):
        for labels in await _store_call(store.series(tenant_id, matchers, start_ms, end_ms)):
            found[tuple(sorted(labels.items()))] = labels
    return [found[key] for key in sorted(found)]


async def label_names(
    store: Store, tenant_id: UUID, match: Sequence[str], start_ms: int | None, end_ms: int | None
) -> list[str]:
    if not match:
        return list(await _store_call(store.label_names(tenant_id, (), start_ms, end_ms)))
    names: set[str] = set()
    for matchers in selectors(match):
        names.update(await _store_call(store.label_names(tenant_id, matchers, start_ms, end_ms)))
    return sorted(names)


async def label_values(
    store: Store,
    tenant_id: UUID,
    name: str,
    match: Sequence[str],
    start_ms: int | None,
    end_ms: int | None,
) -> list[str]:
    if not match:
        return list(await _store_call(store.label_values(tenant_id, name, (), start_ms, end_ms)))
    values: set[str] = set()
    for matchers in selectors(match):
        values.update(
            await _store_call(store.label_values(tenant_id, name, matchers, start_ms, end_ms))
        )
    return sorted(values)


async def _store_call(coro: Any) -> Any:
    from agentdeck.tsdb.base import InvalidMatcher

    try:
        return await coro
    except InvalidMatcher as exc:
        raise PromQLError(str(exc)) from None
