"""What one running app holds: settings, database, rate limiter, metrics registry, the cache of
authenticated principals, the metrics store and its ingest core, and every other piece of
per-app state. The composition root (:mod:`agentdeck.app.factory`) builds it in the lifespan;
:mod:`agentdeck.server.deps` hands it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentdeck.bus.base import Bus
from agentdeck.fleet.runtime import Fleet
from agentdeck.identity.principal_cache import Invalidations, PrincipalCache
from agentdeck.ingest.core import Ingestor
from agentdeck.ingest.decoders.otlp_deltas import DeltaAccumulator
from agentdeck.ingest.decoders.pool import DecodePool
from agentdeck.ingest.service import SeenAgents
from agentdeck.logintel.templates.service import TemplateRegistry
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logstore.base import LogStore
from agentdeck.overview.service import Overview
from agentdeck.ratelimit import RateLimiter
from agentdeck.server.metrics import ServerMetrics
from agentdeck.server.readiness import Readiness
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Store

if TYPE_CHECKING:
    from agentdeck.demo.runner import DemoSimulator
    from agentdeck.logintel.streams.batcher import Batcher
    from agentdeck.logintel.streams.buffers import StreamBuffers
    from agentdeck.loops.runner import LoopRunner
    from agentdeck.realtime.hub import Hub


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limiter: RateLimiter
    metrics: ServerMetrics
    store: Store
    #: The ingest core writing to ``store`` (its series knowledge, counters, listeners).
    ingestor: Ingestor
    bus: Bus
    principals: PrincipalCache
    invalidations: Invalidations
    decoders: DecodePool
    readiness: Readiness
    log_store: LogStore
    logs: LogIngestor
    #: When each agent's ``last_seen_at`` was last written (throttles the writes).
    seen_agents: SeenAgents = field(default_factory=SeenAgents)
    #: OTLP delta sums and histograms made cumulative, per tenant and series.
    otlp_deltas: DeltaAccumulator = field(default_factory=DeltaAccumulator)
    #: The live overview's counters and caches (fed by the ingestor's write listener).
    overview: Overview = field(default_factory=Overview)
    #: The WebSocket hub, started once the state is built.
    hub: Hub | None = None
    #: The background loops, when enabled.
    loops: LoopRunner | None = None
    #: The simulated fleet of ``serve --demo``.
    demo: DemoSimulator | None = None
    #: The fleet runtime: its driver (``fleet.driver``) and the loop's wake-up.
    fleet: Fleet | None = None
    #: Every tenant's template miner (None when ``logintel.mining_enabled`` is off).
    templates: TemplateRegistry | None = None
    #: Log streams' buffers of matched lines (the ingest listener) and their batcher.
    log_streams: StreamBuffers | None = None
    log_batcher: Batcher | None = None
