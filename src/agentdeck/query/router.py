"""Prometheus-compatible query API (``/api/v1/query``, ``query_range``, ``series``, labels)
and metric summaries and raw samples.

The Prometheus routes answer errors in Prometheus's JSON shape (``{"status": "error",
"errorType": "bad_data", "error": "..."}``), not problem+json, so Grafana and other Prometheus
clients understand them; ``docs/promql.md`` records the exception. The summary and samples
routes follow the house style (problem+json).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.query import samples, service
from agentdeck.query.schemas import MetricSample, MetricSummary, MetricSummaryList, PromResponse
from agentdeck.server.deps import StoreDep, Viewer
from agentdeck.server.errors import field_error
from agentdeck.tsdb.base import InvalidMatcher, Matcher, MatchOp, StoreError
from agentdeck.tsdb.promql import PromQLError

router = APIRouter(prefix="/api/v1", tags=["query"])
log = structlog.get_logger(__name__)

_PROM_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": 'Bad query or parameters: `{"status":"error","errorType":"bad_data"}`.'},
    503: {"description": "Timed out or the metrics store is unavailable (Prometheus shape)."},
}


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "errorType": kind, "error": message}, status_code=status
    )


def _success(data: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


async def _params(request: Request) -> dict[str, list[str]]:
    """Query-string and form-body parameters together (Prometheus accepts both)."""
    found: dict[str, list[str]] = {}
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        pairs += parse_qsl(body, keep_blank_values=True)
    for key, value in pairs:
        found.setdefault(key, []).append(value)
    return found


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _timeout(params: dict[str, list[str]]) -> float:
    ms = service.parse_duration_ms(
        _one(params, "timeout"), int(service.DEFAULT_TIMEOUT_S * 1000), "timeout"
    )
    return min(ms / 1000, service.DEFAULT_TIMEOUT_S) or service.DEFAULT_TIMEOUT_S


async def _answer(work: Any) -> JSONResponse:
    try:
        return _success(await work)
    except service.QueryTimeout as exc:
        return _error(503, "timeout", str(exc))
    except PromQLError as exc:
        return _error(400, "bad_data", str(exc))
    except StoreError as exc:
        # the store's own text names its address or file: logged, never answered
        log.warning("query_store_failed", error=str(exc))
        return _error(503, "unavailable", "the metrics store failed; retry")


async def _instant(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    async def work() -> dict[str, Any]:
        params = await _params(request)
        query = _one(params, "query")
        if not query:
            raise PromQLError('invalid parameter "query": required')
        time_ms = service.parse_time(_one(params, "time"), _now_ms(), "time")
        return await service.instant_query(
            store, principal.tenant_id, query, time_ms, _timeout(params)
        )

    return await _answer(work())


async def _range(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    async def work() -> dict[str, Any]:
        params = await _params(request)
        query = _one(params, "query")
        if not query:
            raise PromQLError('invalid parameter "query": required')
        if _one(params, "start") is None or _one(params, "end") is None:
            raise PromQLError('invalid parameter "start"/"end": both are required')
        start = service.parse_time(_one(params, "start"), 0, "start")
        end = service.parse_time(_one(params, "end"), 0, "end")
        step = service.parse_duration_ms(_one(params, "step"), None, "step")
        return await service.range_query(
            store, principal.tenant_id, query, start, end, step, _timeout(params)
        )

    return await _answer(work())


async def _selection(request: Request) -> tuple[list[str], int | None, int | None]:
    """The ``match[]`` selectors and the optional ``start``/``end`` of the series and label
    routes."""
    params = await _params(request)
    start_text, end_text = _one(params, "start"), _one(params, "end")
    start = service.parse_time(start_text, 0, "start") if start_text else None
    end = service.parse_time(end_text, 0, "end") if end_text else None
    return params.get("match[]", []), start, end


async def _series(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    async def work() -> list[dict[str, str]]:
        matches, start, end = await _selection(request)
        return await service.series(store, principal.tenant_id, matches, start, end)

    return await _answer(work())


QueryParam = Annotated[str | None, Query(description="PromQL expression (or in a form body).")]
TimeParam = Annotated[str | None, Query(description="Unix seconds or RFC 3339.")]
TimeoutParam = Annotated[str | None, Query(description="Duration, e.g. 30s.")]
MatchParam = Annotated[
    list[str] | None, Query(alias="match[]", description="Series selectors (repeatable).")
]


@router.get("/query", response_model=PromResponse, responses=_PROM_ERRORS)
async def instant_query(
    request: Request,
    principal: Viewer,
    store: StoreDep,
    query: QueryParam = None,
    time: TimeParam = None,  # noqa: ASYNC109 - Prometheus's parameter name
    timeout: TimeoutParam = None,  # noqa: ASYNC109 - Prometheus's parameter name
) -> JSONResponse:
    """Evaluate a PromQL expression at one instant (Prometheus `GET /api/v1/query`)."""
    return await _instant(request, principal, store)


@router.post("/query", response_model=PromResponse, responses=_PROM_ERRORS)
async def instant_query_post(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    """`/api/v1/query` with parameters in a form-encoded body, as Grafana sends them."""
    return await _instant(request, principal, store)


@router.get("/query_range", response_model=PromResponse, responses=_PROM_ERRORS)
async def range_query(
    request: Request,
    principal: Viewer,
    store: StoreDep,
    query: QueryParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
    step: Annotated[str | None, Query(description="Seconds or a duration (15s).")] = None,
    timeout: TimeoutParam = None,  # noqa: ASYNC109 - Prometheus's parameter name
) -> JSONResponse:
    """Evaluate a PromQL expression over a range (at most 11,000 steps per series)."""
    return await _range(request, principal, store)


@router.post("/query_range", response_model=PromResponse, responses=_PROM_ERRORS)
async def range_query_post(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    """`/api/v1/query_range` with parameters in a form-encoded body."""
    return await _range(request, principal, store)


@router.get("/series", response_model=PromResponse, responses=_PROM_ERRORS)
async def find_series(
    request: Request,
    principal: Viewer,
    store: StoreDep,
    match: MatchParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
) -> JSONResponse:
    """Label sets of the series matching any `match[]` selector."""
    return await _series(request, principal, store)


@router.post("/series", response_model=PromResponse, responses=_PROM_ERRORS)
async def find_series_post(request: Request, principal: Viewer, store: StoreDep) -> JSONResponse:
    """`/api/v1/series` with parameters in a form-encoded body."""
    return await _series(request, principal, store)


@router.get("/labels", response_model=PromResponse, responses=_PROM_ERRORS)
async def list_label_names(
    request: Request,
    principal: Viewer,
    store: StoreDep,
    match: MatchParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
) -> JSONResponse:
    """Label names in use (optionally only on series matching `match[]`)."""

    async def work() -> list[str]:
        matches, start, end = await _selection(request)
        return await service.label_names(store, principal.tenant_id, matches, start, end)

    return await _answer(work())


@router.get("/label/{name}/values", response_model=PromResponse, responses=_PROM_ERRORS)
async def list_label_values(
    name: str,
    request: Request,
    principal: Viewer,
    store: StoreDep,
    match: MatchParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
) -> JSONResponse:
    """Values of label `name` (`__name__` lists metric names)."""

    async def work() -> list[str]:
        matches, start, end = await _selection(request)
        return await service.label_values(store, principal.tenant_id, name, matches, start, end)

    return await _answer(work())


# --- house-style routes -------------------------------------------------------------------

MAX_WINDOW_MS = 31 * 86_400_000


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@router.get("/metrics/summary", response_model=MetricSummaryList)
async def get_metrics_summary(
    principal: Viewer,
    store: StoreDep,
    agent: Annotated[str | None, Query(max_length=256, description="Only this agent.")] = None,
    window: Annotated[
        str, Query(max_length=32, description="How far back from now (5m, 1h, 7d; ≤ 31d).")
    ] = "1h",
) -> MetricSummaryList:
    """avg, min, max, p50, p95 and p99 of every metric of every agent over the window."""
    try:
        window_ms = service.parse_duration_ms(window, None, "window")
    except PromQLError:
        raise field_error(
            422, "validation-error", ["query", "window"], "window must be a duration like 1h"
        ) from None
    if not 0 < window_ms <= MAX_WINDOW_MS:
        raise field_error(
            422, "validation-error", ["query", "window"], "window must be between 1ms and 31d"
        )
    end = _now_ms()
    start = end - window_ms
    rows = await samples.summarize(
        store, principal.tenant_id, agent=agent, start_ms=start, end_ms=end
    )
    return MetricSummaryList(
        start=_dt(start), end=_dt(end), items=[MetricSummary(**row) for row in rows]
    )


@router.get("/metrics", response_model=Page[MetricSample])
async def list_metric_samples(
    principal: Viewer,
    store: StoreDep,
    name: Annotated[str | None, Query(max_length=256, description="Metric name.")] = None,
    agent: Annotated[str | None, Query(max_length=256, description="Agent label.")] = None,
    label: Annotated[
        list[str] | None, Query(description="Label filter `key=value` (repeatable).")
    ] = None,
    start: Annotated[datetime | None, Query(description="RFC 3339; default end - 1h.")] = None,
    end: Annotated[datetime | None, Query(description="RFC 3339; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Page[MetricSample]:
    """Raw samples, filtered by metric name, agent and labels, ordered by series then time."""
    matchers: list[Matcher] = []
    if name:
        matchers.append(Matcher.name_is(name))
    if agent:
        matchers.append(Matcher(samples.AGENT_LABEL, MatchOp.eq, agent))
    for i, item in enumerate(label or []):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise field_error(
                422, "validation-error", ["query", "label", i], "label must be key=value"
            )
        matchers.append(Matcher(key, MatchOp.eq, value))
    if not any(not m.matches("") for m in matchers):
        raise field_error(
            422,
            "validation-error",
            ["query", "name"],
            "give a metric name, an agent or a label with a non-empty value",
        )
    for field_name, moment in (("start", start), ("end", end)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(
                422, "validation-error", ["query", field_name], f"{field_name} needs a time zone"
            )
    end_ms = round(end.timestamp() * 1000) if end else _now_ms()
    start_ms = round(start.timestamp() * 1000) if start else end_ms - 3_600_000
    if start_ms > end_ms:
        raise field_error(422, "validation-error", ["query", "end"], "end must not precede start")
    position = None
    if cursor:
        try:
            position = samples.decode_position(cursor)
        except ValueError:
            raise field_error(
                400, "invalid-cursor", ["query", "cursor"], "the cursor is malformed or stale"
            ) from None
    try:
        items, next_cursor = await samples.samples_page(
            store,
            principal.tenant_id,
            matchers=matchers,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
            cursor=position,
        )
    except InvalidMatcher as exc:
        raise field_error(422, "validation-error", ["query", "label"], str(exc)) from None
    return Page[MetricSample](
        items=[MetricSample(**item) for item in items], next_cursor=next_cursor, limit=limit
    )
