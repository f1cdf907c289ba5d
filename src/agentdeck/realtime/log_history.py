"""The lines a live-tail subscription replays before going live (``since`` on ``logs``).

A ``subscribe`` to ``logs`` with ``since`` gets, in its ``snapshot``, the newest lines after
``since`` that match its query, oldest first, at most ``limit`` of them (``more: true`` when
older ones were left out), read from the log store over at most the query's longest range.
Live lines follow; a line both replayed and delivered live while the snapshot was prepared
is sent once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from agentdeck.logs.schemas import Row, line_row, row_line
from agentdeck.logstore.base import LogQuery, LogQueryError, LogStore, LogStoreError
from agentdeck.realtime.protocol import error_frame

if TYPE_CHECKING:
    from agentdeck.realtime.connection import ChannelSubscription, Connection

log = structlog.get_logger(__name__)

NS = 1_000_000_000
#: ``(tenant, query, since_ns)`` → (rows oldest first, were older ones left out?)
LogHistory = Callable[[UUID, LogQuery | None, int], Awaitable[tuple[list[Row], bool]]]


def store_history(store: LogStore, *, limit: int, max_range_ns: int) -> LogHistory:
    async def history(
        tenant_id: UUID, query: LogQuery | None, since_ns: int
    ) -> tuple[list[Row], bool]:
        now = time.time_ns()
        start_ns = max(since_ns + 1, now - max_range_ns)
        if start_ns > now:
            return [], False
        page = await store.search(
            tenant_id,
            query or LogQuery(),
            start_ns=start_ns,
            end_ns=now + 1,
            limit=limit + 1,
            direction="backward",
        )
        records = list(page.records)
        return [line_row(r) for r in reversed(records[:limit])], len(records) > limit

    return history


async def log_snapshot(
    history: LogHistory | None, connection: Connection, subscription: ChannelSubscription
) -> dict[str, Any]:
    """A ``logs`` snapshot: no lines (history comes from GET /api/v1/logs), or, with
    ``since``, the lines after it; their ids are kept so that live delivery skips them."""
    if subscription.since_ns is None or history is None:
        return {"lines": []}
    try:
        rows, more = await history(
            connection.principal.tenant_id, subscription.log_query, subscription.since_ns
        )
    except LogQueryError as exc:
        connection.enqueue(error_frame("replay-failed", str(exc), subscription.ref.name))
        return {"lines": [], "more": False}
    except LogStoreError as exc:
        # the store's own text names its host or file: logged, never sent
        log.warning("log_replay_failed", error=str(exc))
        connection.enqueue(
            error_frame("replay-failed", "the log store failed; resubscribe", subscription.ref.name)
        )
        return {"lines": [], "more": False}
    subscription.replayed = {row[0] for row in rows}
    return {"lines": [row_line(row) for row in rows], "more": more}
