"""The scale-out metrics store: a single-node VictoriaMetrics server over HTTP.

* Writes: ``POST /api/v1/import`` (JSON lines, one line per series of a batch).
* Reads: ``/api/v1/export`` for samples; ``/api/v1/series``, ``/api/v1/labels`` and
  ``/api/v1/label/{name}/values`` for the label APIs; ``/api/v1/query`` for the
  active-series count.
* Queries: PromQL goes to VictoriaMetrics's own ``/api/v1/query`` and ``/api/v1/query_range``
  with ``extra_label=__tenant__=<tenant uuid>`` (a query cannot be rewritten reliably to
  carry the tenant matcher on every selector), the tenant label stripped from the answer.
* Retention: ``/api/v1/admin/tsdb/delete_series`` for series with nothing left after the
  cutoff, plus a per-tenant floor below which this store hides samples (VictoriaMetrics cannot
  delete part of a series; its own ``-retentionPeriod`` removes the rest).

Tenant isolation: every series is written with the extra label ``__tenant__="<tenant uuid>"``
and every read adds the matcher ``__tenant__="<tenant uuid>"``; the label is stripped from
everything returned. User labels cannot collide with it, because label names starting with
``__`` are refused at ingest. Only the PromQL queries rely on VictoriaMetrics's
``extra_label`` argument; every other endpoint carries the tenant matcher itself.

Durability and visibility are VictoriaMetrics's: an import returns once the server parsed the
data into its in-memory buffers, which it makes searchable and flushes to disk within about a
second. With ``flush_writes=True`` each import request is followed by ``/internal/force_flush``
so its samples are visible (and on disk) when ``write`` returns — meant for tests and small
deployments.

Concurrent writes are coalesced (:mod:`.victoriametrics_writes`): writes queued while an import
request is in flight (and, while writers overlap, within ``write_linger`` seconds) share the next
import request, and ``write`` returns once that request succeeded (a failure fails every write
of the request). ``coalesce=False`` sends one request per write.

The server must accept our label count: start it with ``-maxLabelsPerTimeseries=64`` (its
default, 30, is below our 40 user labels + tenant + name). ``docs/storage.md`` lists the
intended differences from the embedded store (value precision, negative zero, day-granular
label APIs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import numpy as np

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    MAX_TIMESTAMP_MS,
    Matcher,
    MatchOp,
    QueryData,
    SampleBatch,
    Series,
    SeriesKey,
    Store,
    StoreError,
    StoreStats,
    WriteResult,
    check_selector,
    format_selector,
)
from agentdeck.tsdb.promql import PromQLError, QueryTimeout
from agentdeck.tsdb.victoriametrics_wire import (
    TENANT_LABEL,
    encode_import,
    exact_selector,
    key_of,
    parse_export_line,
    seconds,
)
from agentdeck.tsdb.victoriametrics_writes import ImportBody, import_writes

# VictoriaMetrics refuses samples more than two days ahead of its clock.
_FUTURE_MS = 2 * 86_400_000
# VictoriaMetrics treats start=0 as "not given"; the earliest useful instant is 1 ms.
_MIN_START_MS = 1
# Series deleted per delete_series request.
_DELETE_CHUNK = 100
# Seconds the client waits for a query beyond the timeout VictoriaMetrics was given.
_QUERY_GRACE_S = 5.0
_LABEL_OR_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class VictoriaMetricsStore:
    """The VictoriaMetrics :class:`~agentdeck.tsdb.base.Store`. Open with :meth:`open`."""

    backend = "victoriametrics"

    def __init__(
        self,
        url: str,
        *,
        flush_writes: bool = False,
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
        coalesce: bool = True,
        write_linger: float = 0.002,
        max_request_samples: int = 20_000,
        max_queued_samples: int = 200_000,
    ) -> None:
        """``write_linger`` (seconds), ``max_request_samples`` and ``max_queued_samples``
        shape write coalescing (:func:`~.victoriametrics_writes.import_writes`)."""
        self.url = url.rstrip("/")
        self.flush_writes = flush_writes
        self._writes = (
            import_writes(
                self._import,
                linger=write_linger,
                max_request_samples=max_request_samples,
                max_queued_samples=max_queued_samples,
            )
            if coalesce
            else None
        )
        self._import_requests = 0
        self._client = client or httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._owns_client = client is None
        self._floors: dict[UUID, int] = {}
        # The JSON head of each series' import line, which rarely changes.
        self._prefixes: dict[tuple[UUID, SeriesKey], str] = {}
        self._samples_written = 0
        self._write_calls = 0

    @classmethod
    async def open(cls, url: str, **options: Any) -> VictoriaMetricsStore:
        """Connect to the server at ``url`` and check that it is healthy."""
        store = cls(url, **options)
        try:
            response = await store._client.get("/health")
        except httpx.HTTPError as exc:
            await store.close()
            raise StoreError(f"VictoriaMetrics at {url} is not reachable: {exc}") from exc
        if response.status_code != 200:
            await store.close()
            raise StoreError(f"VictoriaMetrics at {url} is not healthy: {response.status_code}")
        return store

    async def close(self) -> None:
        """Send the writes still queued, then close the client (when it is ours)."""
        if self._writes is not None:
            await self._writes.close()
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> VictoriaMetricsStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- HTTP helpers ------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        try:
            response = await self._client.request(
                method, path, data=data, params=params, content=content
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"VictoriaMetrics {path} failed: {exc}") from exc
        if response.status_code not in ok:
            raise StoreError(
                f"VictoriaMetrics {path} answered {response.status_code}: {response.text[:500]}"
            )
        return response

    async def _json(self, path: str, form: dict[str, Any]) -> Any:
        response = await self._request("POST", path, data=form)
        body = response.json()
        if body.get("status") != "success":
            raise StoreError(f"VictoriaMetrics {path} failed: {body}")
        return body["data"]

    def _selector(self, tenant_id: UUID, matchers: Sequence[Matcher]) -> str:
        return format_selector([Matcher(TENANT_LABEL, MatchOp.eq, str(tenant_id)), *matchers])

    def _match_form(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None,
        end_ms: int | None,
    ) -> dict[str, str]:
        """The form of the series and label routes: the tenant's selector and the range."""
        start = max(start_ms if start_ms is not None else 0, self._floors.get(tenant_id, 0))
        end = end_ms if end_ms is not None else MAX_TIMESTAMP_MS
        return {
            "match[]": self._selector(tenant_id, matchers),
            "start": seconds(max(start, _MIN_START_MS)),
            "end": seconds(end),
        }

    # --- writes ------------------------------------------------------------------------------

    async def write(self, tenant_id: UUID, batch: SampleBatch) -> WriteResult:
        self._write_calls += 1
        if len(batch) == 0:
            return WriteResult(samples=0, new_series=None)
        body = encode_import(tenant_id, batch, self._prefixes)
        if self._writes is None:
            await self._import(body)
        else:
            await self._writes.submit(ImportBody(body, len(batch)))
        self._samples_written += len(batch)
        return WriteResult(samples=len(batch), new_series=None)

    async def _import(self, body: bytes) -> None:
        """One import request (and the flush, with ``flush_writes``)."""
        await self._request("POST", "/api/v1/import", content=body, ok=(200, 204))
        if self.flush_writes:
            await self.flush()
        self._import_requests += 1

    async def flush(self) -> None:
        await self._request("GET", "/internal/force_flush", ok=(200, 204))

    # --- reads -------------------------------------------------------------------------------

    async def select(
        self, tenant_id: UUID, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[Series]:
        check_selector(matchers)
        start_ms = max(start_ms, self._floors.get(tenant_id, 0), _MIN_START_MS)
        if start_ms > end_ms:
            return []
        form = {
            "match[]": self._selector(tenant_id, matchers),
            "start": seconds(start_ms),
            # One ms more: VictoriaMetrics misses samples at `end` when `end` is exactly a
            # UTC midnight and the range starts on an earlier day. Trimmed below.
            "end": seconds(end_ms + 1),
        }
        response = await self._request("POST", "/api/v1/export", data=form)
        merged: dict[SeriesKey, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        for line in response.text.splitlines():
            if not line:
                continue
            key, timestamps, values = parse_export_line(line)
            parts = merged.setdefault(key, ([], []))
            parts[0].append(timestamps)
            parts[1].append(values)
        out: list[Series] = []
        for key in sorted(merged):
            ts_parts, value_parts = merged[key]
            timestamps = np.concatenate(ts_parts)
            values = np.concatenate(value_parts)
            order = np.argsort(timestamps, kind="stable")
            timestamps, values = timestamps[order], values[order]
            keep = (timestamps >= start_ms) & (timestamps <= end_ms)
            if not keep.all():
                timestamps, values = timestamps[keep], values[keep]
            if len(timestamps):
                out.append(Series(key.name, dict(key.labels), timestamps, values))
        return out

    async def series(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, str]]:
        check_selector(matchers)
        form = self._match_form(tenant_id, matchers, start_ms, end_ms)
        data = await self._json("/api/v1/series", form)
        keys = sorted(key_of(metric) for metric in data)
        return [key.metric() for key in keys]

    async def label_names(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if matchers:
            check_selector(matchers)
        form = self._match_form(tenant_id, matchers, start_ms, end_ms)
        names = set(await self._json("/api/v1/labels", form))
        # VictoriaMetrics lists __name__ even when nothing matched; every series we wrote has
        # the tenant label, so its absence means "no series".
        if TENANT_LABEL not in names:
            return []
        names.discard(TENANT_LABEL)
        return sorted(names)

    async def label_values(
        self,
        tenant_id: UUID,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if matchers:
            check_selector(matchers)
        if name == TENANT_LABEL or not _LABEL_OR_NAME.fullmatch(name):
            return []
        form = self._match_form(tenant_id, matchers, start_ms, end_ms)
        return sorted(await self._json(f"/api/v1/label/{name}/values", form))

    async def active_series_count(
        self, tenant_id: UUID, *, window_ms: int = ACTIVE_WINDOW_MS, now_ms: int | None = None
    ) -> int:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        selector = self._selector(tenant_id, [])
        form = {
            "query": f"count(last_over_time({selector}[{int(window_ms)}ms]))",
            "time": seconds(now),
            "nocache": "1",
        }
        data = await self._json("/api/v1/query", form)
        result = data.get("result") or []
        return int(float(result[0]["value"][1])) if result else 0

    # --- PromQL ------------------------------------------------------------------------------

    async def query_instant(
        self, tenant_id: UUID, query: str, time_ms: int, *, timeout_s: float
    ) -> QueryData:
        """VictoriaMetrics's own ``/api/v1/query``, the tenant enforced by ``extra_label``.

        The query is first checked by our parser, so a query that is not PromQL is refused
        with the same message on both stores.
        """
        form = {"query": query, "time": seconds(time_ms)}
        return await self._query("/api/v1/query", tenant_id, query, form, timeout_s)

    async def query_range(
        self,
        tenant_id: UUID,
        query: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float,
    ) -> QueryData:
        form = {
            "query": query,
            "start": seconds(start_ms),
            "end": seconds(end_ms),
            "step": f"{step_ms}ms",
            "nocache": "1",
        }
        return await self._query("/api/v1/query_range", tenant_id, query, form, timeout_s)

    async def _query(
        self, path: str, tenant_id: UUID, query: str, form: dict[str, str], timeout_s: float
    ) -> QueryData:
        promql.parse(query)
        form = {
            **form,
            "timeout": f"{timeout_s}s",
            "extra_label": f"{TENANT_LABEL}={tenant_id}",
        }
        # VictoriaMetrics stops at its `timeout`; the client waits a little longer for that
        # answer, so a slow query is reported as a timeout, not as a failed request.
        try:
            response = await self._client.post(path, data=form, timeout=timeout_s + _QUERY_GRACE_S)
        except httpx.TimeoutException:
            raise QueryTimeout("query timed out in expression evaluation") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"VictoriaMetrics {path} failed: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise StoreError(
                f"VictoriaMetrics {path} answered {response.status_code}: {response.text[:500]}"
            ) from None
        if body.get("status") != "success":
            message = str(body.get("error", "query failed"))
            if body.get("errorType") == "timeout":
                raise QueryTimeout(message)
            raise PromQLError(message)
        data: QueryData = body["data"]
        result = data.get("result")
        if isinstance(result, list):
            for item in result:
                if isinstance(item, dict):
                    item.get("metric", {}).pop(TENANT_LABEL, None)
        return data

    # --- retention ---------------------------------------------------------------------------

    async def delete_before(self, tenant_id: UUID, ts_ms: int) -> None:
        """Hide samples before ``ts_ms`` and delete series that have nothing at or after it.

        Series that still have samples are found with an instant ``last_over_time`` query
        over ``[ts_ms, now + 2 days]`` (VictoriaMetrics refuses samples further ahead), which
        reads samples and so is exact. Older samples of the surviving series stay on disk,
        hidden by this store, until the server's ``-retentionPeriod`` drops them.
        """
        self._floors[tenant_id] = max(self._floors.get(tenant_id, 0), ts_ms)
        tenant_selector = self._selector(tenant_id, [])
        everything = await self._json(
            "/api/v1/series",
            {
                "match[]": tenant_selector,
                "start": seconds(_MIN_START_MS),
                "end": seconds(MAX_TIMESTAMP_MS),
            },
        )
        if not everything:
            return
        at = max(int(time.time() * 1000) + _FUTURE_MS, ts_ms + 1)
        window = at - ts_ms + 1  # the lookbehind (at - window, at] starts at ts_ms
        alive = await self._json(
            "/api/v1/query",
            {
                "query": f"last_over_time({tenant_selector}[{window}ms])",
                "time": seconds(at),
                "nocache": "1",
            },
        )
        alive_keys = {key_of(item["metric"]) for item in alive.get("result") or []}
        dead = [metric for metric in everything if key_of(metric) not in alive_keys]
        if not dead:
            return
        label_names = {name for metric in everything for name in metric}
        selectors = [exact_selector(metric, label_names) for metric in dead]
        for i in range(0, len(selectors), _DELETE_CHUNK):
            chunk = selectors[i : i + _DELETE_CHUNK]
            await self._request(
                "POST",
                "/api/v1/admin/tsdb/delete_series",
                data={"match[]": chunk},
                ok=(200, 204),
            )

    async def rollup(self, tenant_id: UUID, before_ms: int) -> int:
        """Nothing to do: downsampling is VictoriaMetrics's business (``-downsampling.period``)."""
        return 0

    async def ping(self) -> None:
        """``GET /health`` (answers ``OK``; VictoriaMetrics does no storage work for it)."""
        await self._request("GET", "/health")

    async def stats(self) -> StoreStats:
        return StoreStats(
            backend=self.backend,
            series=None,
            samples_written=self._samples_written,
            write_calls=self._write_calls,
            write_transactions=self._import_requests,
            disk_bytes=None,
            extra={"queued_samples": self._writes.held if self._writes else 0},
        )


if TYPE_CHECKING:

    def _conforms(store: VictoriaMetricsStore) -> Store:  # mypy checks the protocol here
        return store
