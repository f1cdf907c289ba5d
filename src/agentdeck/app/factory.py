"""The application factory and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from agentdeck import __version__
from agentdeck.app.fleet_logs import FleetLogBridge
from agentdeck.app.hooks import wire_domain_hooks
from agentdeck.app.logintel import start_streams, stream_loops
from agentdeck.bus.factory import open_bus
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.db.migrate import upgrade
from agentdeck.fleet.runtime import Fleet, agent_credentials, open_driver
from agentdeck.identity.principal_cache import Invalidations, PrincipalCache
from agentdeck.identity.service import logs_retention_lookup
from agentdeck.ingest.core import Ingestor
from agentdeck.ingest.decoders.pool import DecodePool, default_processes
from agentdeck.logintel.llm import build_analyzer
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.templates.metrics import TemplateMetrics
from agentdeck.logintel.templates.service import TemplateRegistry
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logs.metrics import LogMetrics
from agentdeck.logstore.base import LogStore
from agentdeck.overview.service import attach as attach_overview
from agentdeck.ratelimit import RateLimiter
from agentdeck.realtime.protocol import DURABLE_PATTERNS
from agentdeck.realtime.publish import attach as attach_publishers
from agentdeck.realtime.publish import attach_logs as attach_log_publisher
from agentdeck.secret_key import with_secret_key
from agentdeck.server.apidocs import install_docs
from agentdeck.server.errors import PROBLEM_RESPONSES, install_error_handlers, record_volume_fault
from agentdeck.server.logging import configure_logging
from agentdeck.server.metrics import ServerMetrics
from agentdeck.server.middleware import (
    InFlightMiddleware,
    RequestMiddleware,
    SecurityHeadersMiddleware,
)
from agentdeck.server.readiness import Readiness, register_core_checks
from agentdeck.server.spa import STATIC_DIR, SPAStaticFiles, UINotBuilt
from agentdeck.server.state import AppState
from agentdeck.settings import LogStoreBackend, Settings
from agentdeck.tsdb.factory import open_store

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from agentdeck.demo.runner import DemoSimulator
    from agentdeck.identity.principal import Principal
    from agentdeck.loops.base import Loop
    from agentdeck.loops.runner import LoopMetrics, LoopRunner
    from agentdeck.realtime.hub import Hub

log = structlog.get_logger(__name__)


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """Build the app. Nothing connects until the lifespan starts."""
    wire_domain_hooks()
    configure_logging(settings)
    metrics = ServerMetrics()
    loop_metrics = _loop_metrics(metrics)
    log_metrics = LogMetrics(metrics.registry)
    template_metrics = TemplateMetrics(metrics.registry)
    logintel_metrics = LogIntelMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The key in effect (configured, or the data directory's), before anything connects;
        # everything below reads it from these settings.
        keyed = with_secret_key(settings)
        engine = create_engine(settings.database)
        if run_migrations:
            await upgrade(engine)
        store = await open_store(settings)
        log_store = await _open_log_store(settings)
        bus = await open_bus(settings, durable=DURABLE_PATTERNS)
        principals = PrincipalCache(
            ttl=settings.auth.principal_cache_seconds, size=settings.auth.principal_cache_size
        )
        invalidations = Invalidations(principals, bus)
        await invalidations.start()  # revocations on other replicas reach this one's cache
        limiter = RateLimiter(settings, backend_errors=metrics.ratelimit_backend_errors)
        readiness = Readiness(
            timeout=settings.server.readiness_timeout_seconds,
            cache_seconds=settings.server.readiness_cache_seconds,
        )
        # components beyond the core (the log store, the fleet driver) register theirs below
        register_core_checks(readiness, engine=engine, store=store, limiter=limiter, bus=bus)
        _register_log_store_check(readiness, log_store)
        sessions = create_session_factory(engine)
        fleet = Fleet(open_driver(keyed), agent_credentials(keyed, sessions))
        await fleet.start()  # re-adopts the replicas a previous process left running
        readiness.register("fleet", fleet.readiness)
        state = AppState(
            settings=keyed,
            engine=engine,
            sessions=sessions,
            limiter=limiter,
            metrics=metrics,
            store=store,
            ingestor=Ingestor(store, keyed.tsdb),
            bus=bus,
            principals=principals,
            invalidations=invalidations,
            decoders=DecodePool(default_processes(settings.tsdb.json_decode_processes)),
            readiness=readiness,
            log_store=log_store,
            logs=LogIngestor(
                store=log_store,
                settings=settings.logs,
                metrics=log_metrics,
                retention_days=logs_retention_lookup(sessions, settings.logs.retention_days),
            ),
            fleet=fleet,
        )
        state.templates = await _start_mining(state, template_metrics)
        # stream batching on the ingest path; the LLM analyser (when llm.base_url is set) runs
        # after the rule detectors on every closed batch
        llm = build_analyzer(settings, registry=metrics.registry)
        start_streams(state, logintel_metrics, analyzers=[llm] if llm is not None else [])
        app.state.deck = state
        metrics.registry.register(state.decoders.stats)  # its counters on /metrics
        await _backfill_rule_packs(state)
        state.hub = hub = await _start_hub(state, log_metrics)
        attach_publishers(state.ingestor, bus)  # ingested samples → the tenant's `metrics`
        attach_log_publisher(state.logs, bus)  # written log lines → the tenant's `logs` channel
        fleet_logs = FleetLogBridge(  # replica output → the logs pipeline, bounded
            state.logs,
            lines_per_second=settings.fleet.log_lines_per_second,
            burst=settings.fleet.log_lines_burst,
            max_line_bytes=settings.fleet.log_line_max_bytes,
            on_failure=lambda exc: _background_failure(state, exc),
        )
        fleet_logs.start(fleet.driver.add_line_sink)
        attach_overview(state.ingestor, state.overview)  # counters of /real-time-metrics
        counters = _share_ingest_counts(state, loop_metrics)  # across replicas (Redis)
        log.info(
            "started",
            version=__version__,
            database=engine.dialect.name,
            metrics_store=settings.tsdb.backend.value,
        )
        state.loops = _start_loops(state, loop_metrics) if settings.loops.enabled else None
        demo = _start_demo(state) if settings.features.demo else None
        state.demo = demo
        _freeze_heap()
        try:
            yield
        finally:
            gc.unfreeze()  # what the app leaves behind is collected as usual again
            if demo is not None:
                await demo.stop()
            if state.loops is not None:
                await state.loops.stop()
            if state.templates is not None:
                await state.templates.save(sessions)  # the templates survive the restart
            await fleet.close()  # stops the replicas unless fleet.keep_replicas_on_shutdown
            await fleet_logs.close()  # their last lines are written before the store closes
            if counters is not None:
                await counters.stop()
            await hub.stop()
            await readiness.aclose()
            await state.decoders.close()
            metrics.registry.unregister(state.decoders.stats)
            await invalidations.stop()
            await bus.close()
            await state.limiter.aclose()
            await store.close()
            await log_store.close()
            await engine.dispose()
            log.info("stopped")

    app = FastAPI(
        title="agentdeck",
        version=__version__,
        description="Self-hosted operations for fleets of AI agents.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served by install_docs, from the package rather than a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(app)
    install_docs(app)
    _include_routers(app)
    _mount_ui(app)

    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "ETag", "Retry-After", "RateLimit-Remaining"],
        )
    app.add_middleware(InFlightMiddleware, metrics=metrics)
    app.add_middleware(
        RequestMiddleware,
        metrics=metrics,
        max_body_bytes=settings.server.max_body_bytes,
        trusted_proxies=settings.server.trusted_proxies,
    )
    # outermost: the answers the inner middleware make themselves (413, 500, CORS) get them too
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.server.hsts_seconds)
    return app


async def _open_log_store(settings: Settings) -> LogStore:
    """The configured log store, started: the DuckDB file beside the metrics store, or
    ClickHouse."""
    from agentdeck.logstore.factory import open_log_store

    config = settings.logs
    if config.backend is LogStoreBackend.clickhouse:
        return await open_log_store(
            "clickhouse",
            url=config.clickhouse_url,
            database=config.clickhouse_database,
            user=config.clickhouse_user,
            password=config.clickhouse_password.get_secret_value() or None,
        )
    return await open_log_store(
        "duckdb",
        path=settings.data_dir / config.duckdb_file,
        memory_limit=config.duckdb_memory_limit,
    )


def _register_log_store_check(readiness: Readiness, log_store: LogStore) -> None:
    async def log_store_check() -> str:
        await log_store.ping()
        return f"{log_store.backend} answered"

    readiness.register("log_store", log_store_check)


async def _start_mining(state: AppState, metrics: TemplateMetrics) -> TemplateRegistry | None:
    """The per-tenant template miners, loaded from the state database and registered on the
    ingest path: every line is stored with its template id."""
    if not state.settings.logintel.mining_enabled:
        return None
    registry = TemplateRegistry(state.settings.logintel, metrics)
    await registry.load(state.sessions)
    state.logs.add_column_processor(registry.columns)
    return registry


def _freeze_heap() -> None:
    """Leave what start-up built (modules, routes, the series dictionary, ...) out of the
    cyclic collector's collections: it lives as long as the app, and walking it made every
    full collection a pause of the event loop (~170 ms for ~216,000 objects on a busy 2-core
    machine; ~0 once frozen). No collection first: start-up garbage waits for the unfreeze."""
    gc.freeze()


def _loop_metrics(metrics: ServerMetrics) -> LoopMetrics:
    from agentdeck.loops.runner import LoopMetrics

    return LoopMetrics(metrics.registry)


def _share_ingest_counts(state: AppState, loop_metrics: LoopMetrics) -> LoopRunner | None:
    """With Redis, the overview's ingest rate counts every replica's writes (flushed by a
    loop that runs on each replica, whether or not the leased loops are enabled)."""
    if not state.settings.redis_url:
        return None
    from agentdeck.loops.runner import LoopRunner
    from agentdeck.overview.shared_rate import SharedRateFlush, attach_shared_rate

    shared = state.overview.shared = attach_shared_rate(state.ingestor, state.settings.redis_url)
    runner = LoopRunner([SharedRateFlush(shared)], sessions=state.sessions, metrics=loop_metrics)
    runner.start()
    return runner


def _start_loops(state: AppState, loop_metrics: LoopMetrics) -> LoopRunner:
    """The background loops (all leased): the scraper, retention/downsampling, the alert
    evaluator, the notification dispatcher, the delivery worker, the fleet loop and the
    autoscaler."""
    from agentdeck.alerting.dispatch.dispatcher import DispatcherLoop
    from agentdeck.alerting.rules.evaluator import EvaluatorLoop
    from agentdeck.fleet.autoscaler.loop import AutoscalerLoop
    from agentdeck.fleet.loop import FleetLoop
    from agentdeck.identity.service import logs_retention_days_source, retention_days_source
    from agentdeck.logintel.templates.service import TemplateSaveLoop
    from agentdeck.logs.retention import LogRetentionLoop
    from agentdeck.loops.runner import LoopRunner
    from agentdeck.notify.worker import DeliveryLoop
    from agentdeck.scrape.loop import ScrapeLoop
    from agentdeck.tsdb.retention import RetentionLoop

    sessions, store, settings = state.sessions, state.store, state.settings
    # A changed alert wakes the dispatcher and queued notifications wake the delivery worker
    # (in this process; other replicas poll at their intervals).
    delivery = DeliveryLoop(sessions=sessions, settings=settings, registry=state.metrics.registry)
    dispatcher = DispatcherLoop(
        sessions=sessions,
        interval=settings.alerting.dispatch_interval_seconds,
        external_url=settings.alerting.external_url,
        on_enqueue=delivery.wake,
    )
    evaluator = EvaluatorLoop(
        sessions=sessions, store=store, settings=settings, bus=state.bus, on_change=dispatcher.wake
    )
    loops: list[Loop] = []
    if state.fleet is not None:
        state.fleet.loop = FleetLoop(
            sessions=sessions,
            driver=state.fleet.driver,
            bus=state.bus,
            interval=settings.fleet.reconcile_interval_seconds,
            store=store,
            credentials=state.fleet.credentials,
        )
        loops.append(state.fleet.loop)
        if settings.fleet.autoscaler.enabled:
            loops.append(
                AutoscalerLoop(
                    sessions=sessions,
                    store=store,
                    driver=state.fleet.driver,
                    bus=state.bus,
                    settings=settings.fleet.autoscaler,
                    on_scale=state.fleet.wake,
                )
            )
    if state.templates is not None:
        loops.append(TemplateSaveLoop(registry=state.templates, sessions=sessions))
    loops.extend(stream_loops(state, on_alert=dispatcher.wake))
    runner = LoopRunner(
        [
            ScrapeLoop(sessions=sessions, ingestor=state.ingestor, settings=settings),
            RetentionLoop(
                retention_days=retention_days_source(sessions, settings.tsdb.retention_days),
                store=store,
                settings=settings,
            ),
            LogRetentionLoop(
                retention_days=logs_retention_days_source(sessions, settings.logs.retention_days),
                store=state.log_store,
                default_days=settings.logs.retention_days,
                interval=settings.logs.retention_interval_seconds,
            ),
            evaluator,
            delivery,
            dispatcher,
            *loops,
        ],
        sessions=sessions,
        metrics=loop_metrics,
        on_error=lambda _loop, exc: _background_failure(state, exc),
    )
    runner.start()
    return runner


def _background_failure(state: AppState, exc: BaseException) -> None:
    """A background write refused by a store's volume (full, read-only, I/O errors) fails
    readiness as a request's write does (retention, downsampling, replica log lines)."""
    record_volume_fault(state.readiness, state.store, state.log_store, exc)


async def _backfill_rule_packs(state: AppState) -> None:
    """The default alert rule pack for tenants created before it existed."""
    from agentdeck.alerting.rules.defaults import backfill_default_packs

    await backfill_default_packs(state.sessions)


def _start_demo(state: AppState) -> DemoSimulator:
    """The simulated fleet (``serve --demo``), posting to this server's own URL."""
    from agentdeck.demo.runner import DemoSimulator, own_url

    demo = DemoSimulator(
        sessions=state.sessions,
        store=state.store,
        base_url=own_url(state.settings),
        interval_s=state.settings.features.demo_interval_seconds,
        batch_samples=state.settings.tsdb.max_batch_samples,
    )
    demo.start()
    return demo


async def _start_hub(state: AppState, log_metrics: LogMetrics) -> Hub:
    """The WebSocket hub, fed by the bus."""
    from agentdeck.realtime.hub import Hub
    from agentdeck.realtime.log_history import store_history
    from agentdeck.server.deps import principal_until

    async def authenticate(session: AsyncSession, token: str) -> tuple[Principal, datetime | None]:
        return await principal_until(state, session, token)

    hub = Hub(
        bus=state.bus,
        settings=state.settings.realtime,
        sessions=state.sessions,
        authenticate=authenticate,
        cors_origins=state.settings.server.cors_origins,
        tail_lines=state.settings.logs.tail_queue_lines,
        tail_frame_lines=state.settings.logs.tail_frame_lines,
        on_tail_dropped=log_metrics.tail_dropped.inc,
    )
    hub.log_history = store_history(
        state.log_store,
        limit=state.settings.logs.tail_queue_lines,
        max_range_ns=state.settings.logs.query_max_range_days * 86_400 * 1_000_000_000,
    )
    state.invalidations.listen(hub.access_changed)  # open sockets end with their access
    await hub.start()
    return hub


def _include_routers(app: FastAPI) -> None:
    from agentdeck.agents.router import router as agents_router
    from agentdeck.alerting.alerts.am_router import router as alertmanager_router
    from agentdeck.alerting.alerts.router import router as alerts_router
    from agentdeck.alerting.alerts.trace_router import router as trace_router
    from agentdeck.alerting.routing.router import router as routing_router
    from agentdeck.alerting.routing.silences_router import router as silences_router
    from agentdeck.alerting.rules.router import router as alert_rules_router
    from agentdeck.app.backup_router import router as backup_router
    from agentdeck.audit.router import router as audit_router
    from agentdeck.fleet.autoscaler.router import router as autoscaler_router
    from agentdeck.fleet.deployments.router import router as deployments_router
    from agentdeck.fleet.github.router import router as github_router
    from agentdeck.fleet.router import router as fleet_router
    from agentdeck.identity.router import router as identity_router
    from agentdeck.ingest.otlp_router import router as otlp_router
    from agentdeck.ingest.router import router as telemetry_router
    from agentdeck.logintel.anomalies.router import router as anomalies_router
    from agentdeck.logintel.streams.router import router as log_streams_router
    from agentdeck.logintel.templates.router import router as log_templates_router
    from agentdeck.logs.ingest.router import router as log_ingest_router
    from agentdeck.logs.query.router import router as log_query_router
    from agentdeck.notify.router import router as notify_router
    from agentdeck.overview.monitoring_router import router as monitoring_router
    from agentdeck.overview.router import router as overview_router
    from agentdeck.query.router import router as query_router
    from agentdeck.realtime.router import router as realtime_router
    from agentdeck.scrape.router import router as scrape_router
    from agentdeck.server.ops import router as ops_router

    app.include_router(overview_router)  # first: the live view's one static path, polled hard
    app.include_router(ops_router)
    app.include_router(backup_router)
    app.include_router(identity_router)
    app.include_router(realtime_router)
    app.include_router(agents_router)
    app.include_router(fleet_router)
    app.include_router(deployments_router)
    app.include_router(autoscaler_router)
    app.include_router(github_router)
    app.include_router(audit_router)
    app.include_router(telemetry_router)
    app.include_router(otlp_router)
    app.include_router(query_router)
    app.include_router(scrape_router)
    app.include_router(monitoring_router)
    app.include_router(alerts_router)
    app.include_router(alertmanager_router)
    app.include_router(alert_rules_router)
    app.include_router(notify_router)
    app.include_router(routing_router)
    app.include_router(silences_router)
    app.include_router(trace_router)
    app.include_router(log_ingest_router)
    app.include_router(log_templates_router)  # before the query router's /{line_id} paths
    app.include_router(log_query_router)
    app.include_router(log_streams_router)
    app.include_router(anomalies_router)


def _mount_ui(app: FastAPI) -> None:
    """The UI answers whatever no route matched (the router's default), so a wrong method on a
    real route still gets the router's own 405."""
    if (STATIC_DIR / "index.html").is_file():
        app.router.default = SPAStaticFiles(directory=STATIC_DIR, html=True)
    else:
        app.router.default = UINotBuilt()
