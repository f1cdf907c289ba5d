"""Query logic behind the Prometheus-compatible API: parameters, range checks, and the
store's answer.

Queries run on the store (:meth:`~agentdeck.tsdb.base.Store.query_instant` and
:meth:`~agentdeck.tsdb.base.Store.query_range`): the embedded store evaluates them with our
PromQL engine, VictoriaMetrics with its own API, the tenant enforced either way. Errors are
:class:`~agentdeck.tsdb.promql.PromQLError` (bad_data), its
:class:`~agentdeck.tsdb.promql.QueryTimeout`, and :class:`~agentdeck.tsdb.base.StoreError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import InvalidMatcher, Matcher, QueryData, Store
from agentdeck.tsdb.promql import PromQLError, QueryTimeout

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "QueryTimeout",
    "instant_query",
    "label_names",
    "label_values",
    "parse_duration_ms",
    "parse_time",
    "range_query",
    "series",
]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 120.0
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


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


async def instant_query(
    store: Store, tenant_id: UUID, query: str, time_ms: int, timeout_s: float
) -> QueryData:
    """``query`` at ``time_ms`` in the tenant, as the Prometheus HTTP API's ``data``."""
    return await store.query_instant(tenant_id, query, time_ms, timeout_s=timeout_s)


async def range_query(
    store: Store,
    tenant_id: UUID,
    query: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    timeout_s: float,
) -> QueryData:
    """``query`` over ``[start_ms, end_ms]`` every ``step_ms`` (a matrix); the range is checked
    here as Prometheus checks it, so both stores refuse the same ranges."""
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
    return await store.query_range(tenant_id, query, start_ms, end_ms, step_ms, timeout_s=timeout_s)


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


async def _store_call(work: Awaitable[T]) -> T:
    try:
        return await work
    except InvalidMatcher as exc:
        raise PromQLError(str(exc)) from None
