"""The error-rate guard of a rollout: the agent's error ratio since the deployment started,
from the metrics its replicas report (``agent_requests_total`` and ``agent_errors_total``,
labelled ``agent=<name>``, as the SDK and the built-in templates send them).

The ratio counts every replica of the agent, old and new: with ``rolling`` the new ones take a
growing share of the traffic, so a bad version shows up as the ratio climbs. It is judged only
once ``MIN_REQUESTS`` requests were counted, so one early failure does not roll back.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from agentdeck.tsdb.base import Store
from agentdeck.tsdb.promql import Vector, instant_query

MIN_REQUESTS = 10
MIN_WINDOW_SECONDS = 5


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _total(store: Store, tenant_id: uuid.UUID, query: str, at_ms: int) -> float:
    value = await instant_query(store, tenant_id, query, at_ms)
    if not isinstance(value, Vector) or not len(value.labels):
        return 0.0
    total = float(value.values[value.mask].sum()) if value.mask.any() else 0.0
    return 0.0 if math.isnan(total) else total


async def breach(
    store: Store,
    *,
    tenant_id: uuid.UUID,
    agent: str,
    since: datetime,
    now: datetime,
    limit: float,
) -> str | None:
    """Why the rollout must be rolled back (the ratio over ``limit``), or None."""
    window = max(MIN_WINDOW_SECONDS, math.ceil((now - since).total_seconds()))
    selector = f"{{agent={_quoted(agent)}}}"
    at_ms = int(now.timestamp() * 1000)
    requests = await _total(
        store, tenant_id, f"sum(increase(agent_requests_total{selector}[{window}s]))", at_ms
    )
    if requests < MIN_REQUESTS:
        return None
    errors = await _total(
        store, tenant_id, f"sum(increase(agent_errors_total{selector}[{window}s]))", at_ms
    )
    ratio = errors / requests
    if ratio <= limit:
        return None
    return (
        f"the error rate during the rollout was {ratio:.1%} ({errors:.0f} errors in "
        f"{requests:.0f} requests), over the guard of {limit:.1%}"
    )
