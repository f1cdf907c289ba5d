"""The log query API: search, histogram, context and label autocomplete.

Every route reads the caller's tenant only and is open to viewers. Pages of lines are written
as JSON directly (thousands of lines; the response model documents the shape).
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from agentdeck.logs.query import service
from agentdeck.logs.query.schemas import (
    HistogramBucketPublic,
    LabelNames,
    LabelValues,
    LogContextPublic,
    LogHistogram,
    LogSearchPage,
)
from agentdeck.logs.schemas import line_dict, rfc3339_ns
from agentdeck.logstore.base import Severity
from agentdeck.server.deps import LogStoreDep, SettingsDep, StateDep, Viewer

router = APIRouter(prefix="/api/v1/logs", tags=["logs"])

MAX_LIMIT = 5000
MAX_CONTEXT = 500
MAX_VALUES = 1000

QueryText = Annotated[
    str,
    Query(
        max_length=4096,
        description='LogQL subset, e.g. `{service="api", severity=~"ERROR|CRITICAL"} |= "timeout"`'
        "; empty: every line. See docs/logs.md.",
    ),
]
Start = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Range start (inclusive): RFC 3339 or Unix time (s, ms, µs or ns). "
        "Default: end minus logs.query_default_range_seconds (1 h).",
    ),
]
End = Annotated[
    str | None,
    Query(max_length=64, description="Range end (exclusive): RFC 3339 or Unix time; default now."),
]


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@router.get("", operation_id="search_logs", response_model=LogSearchPage)
async def search_logs(
    principal: Viewer,
    store: LogStoreDep,
    settings: SettingsDep,
    state: StateDep,
    query: QueryText = "",
    start: Start = None,
    end: End = None,
    template: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**62,
            description="Only lines of this log template (a merged id: of the template it went "
            "into, with the lines stored under the ids merged into it). The same as "
            '`{template="<id>"}` in the query, which matches only that exact id.',
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=256, description="`next_cursor` of the previous page.")
    ] = None,
    direction: Annotated[
        Literal["backward", "forward"],
        Query(description="backward: newest first (default); forward: oldest first."),
    ] = "backward",
) -> Response:
    """Lines of the caller's tenant matching a query in a time range, paged by cursor.

    400 (``invalid-query``, with ``position``) for a query that cannot be read; 422 for a range
    that is empty or longer than ``logs.query_max_range_days``.
    """
    parsed = service.parse_query(query)
    if template is not None:
        registry = state.templates
        ids = [template] if registry is None else registry.ids_of(principal.tenant_id, template)
        parsed = service.with_template(parsed, ids)
    span = service.time_range(start, end, settings.logs, time.time_ns())
    page = await service.search(
        store,
        settings.logs,
        tenant_id=principal.tenant_id,
        query=parsed,
        span=span,
        limit=limit,
        direction=direction,
        cursor=service.decode_cursor(cursor) if cursor else None,
    )
    return _json(
        {
            "items": [line_dict(record) for record in page.records],
            "next_cursor": service.encode_cursor(page.next_cursor) if page.next_cursor else None,
            "limit": limit,
            "query": query,
            "start": rfc3339_ns(span.start_ns),
            "end": rfc3339_ns(span.end_ns),
            "direction": direction,
        }
    )


@router.get("/histogram", operation_id="log_histogram", response_model=LogHistogram)
async def log_histogram(
    principal: Viewer,
    store: LogStoreDep,
    settings: SettingsDep,
    query: QueryText = "",
    start: Start = None,
    end: End = None,
    step: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Bucket width: 30s, 5m, 1h, seconds, or auto (about 120 buckets).",
        ),
    ] = None,
) -> LogHistogram:
    """Lines per severity per step over a range (the Logs page's bar chart)."""
    parsed = service.parse_query(query)
    span = service.time_range(start, end, settings.logs, time.time_ns())
    step_ns = service.parse_step(step, span.end_ns - span.start_ns)
    buckets = await service.histogram(
        store,
        settings.logs,
        tenant_id=principal.tenant_id,
        query=parsed,
        span=span,
        step_ns=step_ns,
    )
    return LogHistogram(
        query=query,
        start=rfc3339_ns(span.start_ns),
        end=rfc3339_ns(span.end_ns),
        step_seconds=step_ns / 1e9,
        buckets=[
            HistogramBucketPublic(
                ts=rfc3339_ns(bucket.start_ns),
                counts={s: bucket.counts.get(s, 0) for s in Severity},
                total=sum(bucket.counts.values()),
            )
            for bucket in buckets
        ],
    )


@router.get("/labels", operation_id="log_label_names", response_model=LabelNames)
async def log_label_names(
    principal: Viewer,
    store: LogStoreDep,
    settings: SettingsDep,
    start: Start = None,
    end: End = None,
) -> LabelNames:
    """Field and label names with values in the range (for autocomplete)."""
    span = service.time_range(start, end, settings.logs, time.time_ns())
    names = await service.label_names(
        store, settings.logs, tenant_id=principal.tenant_id, span=span
    )
    return LabelNames(names=names)


@router.get("/labels/{name}/values", operation_id="log_label_values", response_model=LabelValues)
async def log_label_values(
    principal: Viewer,
    store: LogStoreDep,
    settings: SettingsDep,
    name: Annotated[str, Path(max_length=128)],
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Query(ge=1, le=MAX_VALUES)] = 100,
    query: Annotated[
        str,
        Query(
            max_length=4096,
            description='A stream selector, e.g. `{service="api"}`: only values on the lines '
            "it selects (line filters are refused). Empty: every line.",
        ),
    ] = "",
) -> LabelValues:
    """Distinct values of a field (service, severity, agent, ...) or label in the range,
    optionally on the lines a stream selector selects."""
    selector = service.parse_selector(query)
    span = service.time_range(start, end, settings.logs, time.time_ns())
    values = await service.label_values(
        store,
        settings.logs,
        tenant_id=principal.tenant_id,
        name=name,
        span=span,
        limit=limit,
        selector=selector,
    )
    return LabelValues(name=name, values=values, limit=limit)


@router.get("/{line_id}/context", operation_id="log_context", response_model=LogContextPublic)
async def log_context(
    principal: Viewer,
    store: LogStoreDep,
    settings: SettingsDep,
    line_id: Annotated[str, Path(max_length=64)],
    before: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 20,
    after: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 20,
) -> Response:
    """The lines around one line of the same service: ``before`` older, ``after`` newer.

    404 for an unknown id (another tenant's line is unknown too)."""
    found = await service.context(
        store,
        settings.logs,
        tenant_id=principal.tenant_id,
        record_id=line_id,
        before=before,
        after=after,
    )
    return _json(
        {
            "before": [line_dict(r) for r in found.before],
            "line": line_dict(found.record),
            "after": [line_dict(r) for r in found.after],
            "more_before": found.more_before,
            "more_after": found.more_after,
        }
    )
