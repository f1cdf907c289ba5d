"""The retention loop: downsample, then delete what is older than each tenant's retention.

Every ``loops.retention_interval_seconds`` (hourly by default), for every tenant:

1. ``store.rollup(tenant, now - loops.rollup_lag_seconds)``: whole hours of raw samples older
   than the lag go into the 1-minute and 1-hour rollups (the lag leaves late samples time to
   arrive; a rolled-up hour takes no more samples into its rollups);
2. ``store.delete_before(tenant, now - retention)``: raw samples and rollups older than the
   tenant's retention are deleted. The retention is the tenant's own ``retention_days`` (set
   by its admin through ``PATCH /api/v1/tenant``) or, when that is null, the server default
   ``tsdb.retention_days``; it is read from the state database at every tick.

It is a leased loop, so one replica does it. A tenant that fails is logged and skipped; the
others still run, and the tick reports the failure (counted as an error in the loop metrics).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog

from agentdeck.loops.base import Loop
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Store

log = structlog.get_logger(__name__)

DAY_MS = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RetentionError(RuntimeError):
    """Retention or downsampling failed for some tenants (the others were done)."""


class RetentionLoop(Loop):
    name = "retention"
    lease = True
    jitter = 0.05

    def __init__(
        self,
        *,
        retention_days: Callable[[], Awaitable[dict[uuid.UUID, int]]],
        store: Store,
        settings: Settings,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self._retention_days = retention_days
        self.store = store
        self.settings = settings
        self.interval = settings.loops.retention_interval_seconds
        self.clock_ms = clock_ms

    async def retention_days(self) -> dict[uuid.UUID, int]:
        """Every tenant's retention in days, from the callable the composition root hands in
        (the tenants' own settings, else the server default): this layer knows no tenants."""
        return await self._retention_days()

    async def tick(self) -> None:
        now = self.clock_ms()
        retention = await self.retention_days()
        failed = []
        first: Exception | None = None
        for tenant_id, days in retention.items():
            try:
                rolled = await self.store.rollup(
                    tenant_id, now - self.settings.loops.rollup_lag_seconds * 1000
                )
                cutoff = now - days * DAY_MS
                await self.store.delete_before(tenant_id, cutoff)
            except Exception as exc:
                log.exception("retention failed", tenant=str(tenant_id))
                failed.append(tenant_id)
                first = first or exc
            else:
                log.debug("retention done", tenant=str(tenant_id), rolled_up=rolled, cutoff=cutoff)
        if failed:
            # chained to the first failure, so that the runner's hook sees what failed
            raise RetentionError(f"retention failed for {len(failed)} tenant(s)") from first
