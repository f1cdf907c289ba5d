"""Log search over the :class:`~agentdeck.logstore.base.LogStore`: ranges, cursors, steps.

Every call is bounded: a range defaults to the last ``logs.query_default_range_seconds`` and
may span at most ``logs.query_max_range_days``; each store call runs under
``logs.query_timeout_seconds``. Regular expressions are RE2 (linear time) in the store and
the live tail, so a query cannot be made to run away by its pattern.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import TypeVar
from uuid import UUID

import orjson

from agentdeck.errors import FieldIssue, Invalid, Malformed, NotFound, Unavailable, malformed
from agentdeck.logs.ingest.normalize import NS, Refused, timestamp_ns
from agentdeck.logstore import logql
from agentdeck.logstore.base import (
    Cursor,
    HistogramBucket,
    LogContext,
    LogPage,
    LogQuery,
    LogQueryError,
    LogStore,
    LogStoreError,
    Matcher,
)
from agentdeck.settings import LogsSettings

T = TypeVar("T")
MAX_BUCKETS = 11_000
#: Steps the automatic histogram step is rounded up to (seconds).
NICE_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
AUTO_BUCKETS = 120
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?\Z")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ns: int
    end_ns: int


def with_template(query: LogQuery, ids: list[int]) -> LogQuery:
    """``query`` narrowed to lines carrying one of the template ids ``ids``."""
    if len(ids) == 1:
        matcher = Matcher("template", "=", str(ids[0]))
    else:
        matcher = Matcher("template", "=~", "|".join(str(i) for i in ids))
    return replace(query, matchers=(*query.matchers, matcher))


def parse_query(text: str) -> LogQuery:
    """The parsed query; a bad one is a 400 naming the position of the fault."""
    try:
        return logql.parse(text)
    except LogQueryError as exc:
        position = exc.position
        where = f" (at position {position})" if position is not None else ""
        raise Malformed(
            f"the query cannot be read{where}: {exc}",
            kind="invalid-query",
            errors=[FieldIssue(loc=["query", "query"], message=str(exc), type="invalid-query")],
            extra={"position": position},
        ) from None


def parse_selector(text: str) -> LogQuery | None:
    """A stream selector (``{service="api"}``) narrowing label values; None for an empty one.
    Line and field filters are refused (400 naming ``query``)."""
    if not text.strip():
        return None
    query = parse_query(text)
    if query.line_filters or query.field_filters:
        message = 'only a stream selector such as {service="api"} narrows label values'
        raise Malformed(
            f"the query cannot be used here: {message}",
            kind="invalid-query",
            errors=[FieldIssue(loc=["query", "query"], message=message, type="invalid-query")],
        )
    return query


def _instant(value: str | None, field: str, now_ns: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        return timestamp_ns(value, now_ns)
    except Refused as exc:
        raise malformed("invalid-time", ["query", field], exc.message) from None


def time_range(
    start: str | None, end: str | None, settings: LogsSettings, now_ns: int
) -> TimeRange:
    """``[start, end)`` in ns: RFC 3339 or Unix time (s, ms, µs, ns); defaults: the last
    ``query_default_range_seconds`` ending now (or ending at ``end``, or starting at ``start``)."""
    default = settings.query_default_range_seconds * NS
    start_ns = _instant(start, "start", now_ns)
    end_ns = _instant(end, "end", now_ns)
    if end_ns is None:
        end_ns = now_ns + 1 if start_ns is None else max(start_ns + default, now_ns + 1)
    if start_ns is None:
        start_ns = end_ns - default
    if start_ns >= end_ns:
        raise Invalid(
            "start must be before end",
            kind="invalid-range",
            errors=[
                FieldIssue(
                    loc=["query", "start"], message="start must be before end", type="invalid-range"
                )
            ],
        )
    most = settings.query_max_range_days * 86_400 * NS
    if end_ns - start_ns > most:
        message = f"the range is longer than {settings.query_max_range_days} days"
        raise Invalid(
            message,
            kind="range-too-long",
            errors=[FieldIssue(loc=["query", "start"], message=message, type="range-too-long")],
        )
    return TimeRange(start_ns, end_ns)


def parse_step(step: str | None, span_ns: int) -> int:
    """A histogram step in ns: ``30s``, ``5m``, ``1h``, a number of seconds, or automatic
    (about 120 buckets, rounded up to a round step)."""
    if step is None or step in ("", "auto"):
        wanted = span_ns / AUTO_BUCKETS / NS
        for nice in NICE_STEPS:
            if nice >= wanted:
                return nice * NS
        return int(-(-wanted // 86400)) * 86400 * NS
    match = _DURATION.match(step.strip())
    if match is None:
        raise malformed("invalid-step", ["query", "step"], "step must be like 30s, 5m, 1h or auto")
    step_ns = int(float(match.group(1)) * _UNIT[match.group(2)] * NS)
    if step_ns < NS // 1000:
        raise malformed("invalid-step", ["query", "step"], "step must be at least 1ms")
    if span_ns / step_ns > MAX_BUCKETS:
        raise Invalid(
            f"the step gives more than {MAX_BUCKETS} buckets for the range",
            kind="too-many-buckets",
            errors=[
                FieldIssue(
                    loc=["query", "step"],
                    message="step too small for the range",
                    type="too-many-buckets",
                )
            ],
        )
    return step_ns


# --- cursors -----------------------------------------------------------------------------------


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps([cursor.ts_ns, cursor.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        ts_ns, ident = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(ts_ns, int) or not isinstance(ident, str) or len(ident) > 64:
            raise ValueError("not a log cursor")
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise malformed(
            "invalid-cursor", ["query", "cursor"], "the cursor is malformed or stale"
        ) from None
    return Cursor(ts_ns=ts_ns, id=ident)


# --- store calls -------------------------------------------------------------------------------


async def _bounded(call: Awaitable[T], settings: LogsSettings) -> T:
    try:
        async with asyncio.timeout(settings.query_timeout_seconds):
            return await call
    except TimeoutError:
        raise Unavailable(
            f"the query took longer than {settings.query_timeout_seconds:g} s: narrow the "
            "range or the selector",
            kind="query-timeout",
        ) from None
    except LogQueryError as exc:
        raise Malformed(
            f"the query cannot be run: {exc}",
            kind="invalid-query",
            errors=[FieldIssue(loc=["query", "query"], message=str(exc), type="invalid-query")],
            extra={"position": exc.position},
        ) from None
    except LogStoreError as exc:
        raise Unavailable(
            f"the log store failed, retry later: {exc}",
            kind="log-store-unavailable",
            retry_after=1,
        ) from exc


async def search(
    store: LogStore,
    settings: LogsSettings,
    *,
    tenant_id: UUID,
    query: LogQuery,
    span: TimeRange,
    limit: int,
    direction: str,
    cursor: Cursor | None,
) -> LogPage:
    return await _bounded(
        store.search(
            tenant_id,
            query,
            start_ns=span.start_ns,
            end_ns=span.end_ns,
            limit=limit,
            direction=direction,
            cursor=cursor,
        ),
        settings,
    )


async def histogram(
    store: LogStore,
    settings: LogsSettings,
    *,
    tenant_id: UUID,
    query: LogQuery,
    span: TimeRange,
    step_ns: int,
) -> list[HistogramBucket]:
    buckets = await _bounded(
        store.histogram(
            tenant_id, query, start_ns=span.start_ns, end_ns=span.end_ns, step_ns=step_ns
        ),
        settings,
    )
    return list(buckets)


async def context(
    store: LogStore,
    settings: LogsSettings,
    *,
    tenant_id: UUID,
    record_id: str,
    before: int,
    after: int,
) -> LogContext:
    found = await _bounded(
        store.context(tenant_id, record_id, before=before, after=after), settings
    )
    if found is None:
        raise NotFound(f"log line {record_id} was not found")
    return found


async def label_names(
    store: LogStore, settings: LogsSettings, *, tenant_id: UUID, span: TimeRange
) -> list[str]:
    names = await _bounded(
        store.label_names(tenant_id, start_ns=span.start_ns, end_ns=span.end_ns), settings
    )
    return list(names)


async def label_values(
    store: LogStore,
    settings: LogsSettings,
    *,
    tenant_id: UUID,
    name: str,
    span: TimeRange,
    limit: int,
    selector: LogQuery | None = None,
) -> list[str]:
    values = await _bounded(
        store.label_values(
            tenant_id,
            name,
            start_ns=span.start_ns,
            end_ns=span.end_ns,
            limit=limit,
            query=selector,
        ),
        settings,
    )
    return list(values)
