"""What one running app holds: settings, database, rate limiter, metrics registry, the cache of
authenticated principals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentdeck.bus.base import Bus
from agentdeck.identity.principal_cache import Invalidations, PrincipalCache
from agentdeck.ingest.decoders.pool import DecodePool
from agentdeck.ratelimit import RateLimiter
from agentdeck.server.metrics import ServerMetrics
from agentdeck.server.readiness import Readiness
from agentdeck.settings import Settings
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
    loops: LoopRunner | None = None
