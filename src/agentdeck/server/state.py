"""What one running app holds: settings, database, rate limiter, metrics registry, the cache of
authenticated principals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentdeck.bus.base import Bus
from agentdeck.fleet.runtime import Fleet
from agentdeck.identity.principal_cache import Invalidations, PrincipalCache
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logstore.base import LogStore
from agentdeck.ratelimit import RateLimiter
from agentdeck.server.metrics import ServerMetrics
from agentdeck.server.readiness import Readiness
from agentdeck.settings import Settings
from agentdeck.telemetry.decode_pool import DecodePool
from agentdeck.tsdb.base import Store

if TYPE_CHECKING:
    from agentdeck.loops.runner import LoopRunner


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limiter: RateLimiter
    metrics: ServerMetrics
    store: Store
    bus: Bus
    principals: PrincipalCache
    invalidations: Invalidations
    decoders: DecodePool
    readiness: Readiness
    log_store: LogStore
    logs: LogIngestor
    loops: LoopRunner | None = None
    #: The fleet runtime: its driver (``fleet.driver``) and the loop's wake-up.
    fleet: Fleet | None = None
