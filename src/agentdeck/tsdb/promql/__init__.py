"""A PromQL engine over any :class:`~agentdeck.tsdb.base.Store` (the supported subset is in
``docs/promql.md``); anything outside it raises :class:`PromQLUnsupported`."""

from __future__ import annotations

from uuid import UUID

from agentdeck.tsdb.base import Store
from agentdeck.tsdb.promql.engine import LOOKBACK_MS, MAX_POINTS, Evaluation, parse, parse_selector
from agentdeck.tsdb.promql.values import (
    PromQLError,
    PromQLUnsupported,
    QueryTimeout,
    Scalar,
    String,
    Value,
    Vector,
)


async def instant_query(store: Store, tenant_id: UUID, query: str, time_ms: int) -> Value:
    """The value of ``query`` at ``time_ms``."""
    node = parse(query)
    return await Evaluation(store, tenant_id, time_ms, time_ms, 0).run(node)


async def range_query(
    store: Store, tenant_id: UUID, query: str, start_ms: int, end_ms: int, step_ms: int
) -> Value:
    """The value of ``query`` at ``start_ms, start_ms + step_ms, ... <= end_ms``."""
    if step_ms <= 0:
        raise PromQLError("zero or negative query resolution step widths are not accepted")
    if end_ms < start_ms:
        raise PromQLError("end timestamp must not be before start time")
    node = parse(query)
    return await Evaluation(store, tenant_id, start_ms, end_ms, step_ms).run(node)


__all__ = [
    "LOOKBACK_MS",
    "MAX_POINTS",
    "PromQLError",
    "PromQLUnsupported",
    "QueryTimeout",
    "Scalar",
    "String",
    "Value",
    "Vector",
    "instant_query",
    "parse",
    "parse_selector",
    "range_query",
]
