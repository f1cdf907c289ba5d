"""Ingest as the routers and loops call it: a batch into the store (a failing store is
:class:`~agentdeck.errors.Unavailable`), and agent liveness (``last_seen_at``) for the agents
the samples name."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.errors import Unavailable
from agentdeck.ingest.batch import Batch, IngestResult
from agentdeck.ingest.core import Ingestor
from agentdeck.tsdb.base import StoreError

#: How often (at most) one agent's ``last_seen_at`` is written.
LAST_SEEN_INTERVAL_SECONDS = 30.0
#: How often (at most) agents written more than that ago are forgotten (made due again).
PRUNE_INTERVAL_SECONDS = 1.0
#: Agents remembered per tenant before the memory is cleared.
MAX_REMEMBERED_AGENTS = 100_000


async def ingest(
    ingestor: Ingestor, session: AsyncSession, tenant_id: uuid.UUID, batch: Batch
) -> IngestResult:
    """:meth:`Ingestor.ingest`, with a failing store as a 503 ``store-unavailable``."""
    try:
        return await ingestor.ingest(session, tenant_id, batch)
    except StoreError as exc:
        raise Unavailable(
            f"the metrics store failed, retry later: {exc}", kind="store-unavailable"
        ) from exc


class SeenAgents:
    """When this app last wrote each agent's ``last_seen_at`` (one per app, per tenant).

    A request asks which of its agents are due (not written in the last
    ``LAST_SEEN_INTERVAL_SECONDS``) with one set difference, however many agents it names;
    agents are forgotten once their interval has passed (checked at most once a second), so
    each is written again on the first request after that.
    """

    def __init__(self) -> None:
        self._fresh: dict[uuid.UUID, set[str]] = {}
        self._written: dict[uuid.UUID, dict[str, float]] = {}
        self._pruned: dict[uuid.UUID, float] = {}

    def due(self, tenant_id: uuid.UUID, names: set[str], clock: float) -> set[str]:
        """The agents of ``names`` to write now (they count as written from ``clock`` on)."""
        fresh = self._fresh.get(tenant_id)
        if fresh is None:
            fresh = self._fresh[tenant_id] = set()
            self._written[tenant_id] = {}
            self._pruned[tenant_id] = clock
        written = self._written[tenant_id]
        if clock - self._pruned[tenant_id] >= PRUNE_INTERVAL_SECONDS:
            self._pruned[tenant_id] = clock
            cutoff = clock - LAST_SEEN_INTERVAL_SECONDS
            for name in [name for name, at in written.items() if at <= cutoff]:
                del written[name]
                fresh.discard(name)
            if len(written) > MAX_REMEMBERED_AGENTS:
                written.clear()
                fresh.clear()
        due = names - fresh
        if due:
            fresh |= due
            written.update(dict.fromkeys(due, clock))
        return due


async def touch_agents(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    names: set[str],
    seen: SeenAgents,
) -> bool:
    """Set ``last_seen_at`` of the tenant's agents named ``names``, at most every 30 s each.

    ``seen`` remembers when each agent was last written (kept by the caller per app). Names
    that are no agent of the tenant change nothing. Flushes; the caller commits. Returns
    whether anything was written (False: there is nothing to commit).
    """
    due = sorted(seen.due(tenant_id, names, time.monotonic()))
    if not due:
        return False
    for start in range(0, len(due), 500):
        await session.execute(
            update(Agent)
            .where(Agent.tenant_id == tenant_id, Agent.name.in_(due[start : start + 500]))
            .values(last_seen_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
    return True
