"""The log retention loop: delete lines older than each tenant's log retention.

Every ``logs.retention_interval_seconds`` (hourly by default) it asks the store to drop what
is older than each tenant's retention: the tenant's own ``logs_retention_days`` (set by its
admin through ``PATCH /api/v1/tenant``) or, when that is null, ``logs.retention_days`` (7 by
default). The retentions come from a callable the composition root hands in (this module
knows no tenants table). It is a leased loop: one replica does it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog

from agentdeck.logstore.base import LogStore
from agentdeck.loops.base import Loop

log = structlog.get_logger(__name__)

DAY_NS = 86_400 * 1_000_000_000


class LogRetentionLoop(Loop):
    name = "logs_retention"
    lease = True
    jitter = 0.05

    def __init__(
        self,
        *,
        retention_days: Callable[[], Awaitable[dict[uuid.UUID, int]]],
        store: LogStore,
        default_days: int,
        interval: float,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._retention_days = retention_days
        self.store = store
        self.default_days = default_days
        self.interval = interval
        self.clock_ns = clock_ns
        self.last_deleted = 0

    async def tick(self) -> None:
        now = self.clock_ns()
        retention = await self._retention_days()
        cutoffs = {tenant: now - days * DAY_NS for tenant, days in retention.items()}
        deleted = await self.store.delete_before(
            cutoffs, default_ns=now - self.default_days * DAY_NS
        )
        self.last_deleted = deleted
        if deleted:
            log.info("log retention deleted lines", lines=deleted, tenants=len(cutoffs))
