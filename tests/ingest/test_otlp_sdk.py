"""The real OpenTelemetry Python SDK's OTLP/HTTP metric exporter against a running server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Matcher, MatchOp
from tests.conftest import Factory
from tests.ingest.otlp_support import live_server


class _Recorder(OTLPMetricExporter):
    """The stock exporter, keeping the result of each export."""

    results: list[MetricExportResult]

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        result = super().export(metrics_data, timeout_millis, **kwargs)
        self.results.append(result)
        return result


async def test_sdk_exporter_end_to_end(
    settings_factory: Callable[..., Settings], factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    app = create_app(settings_factory(), run_migrations=False)
    async with live_server(app) as url:
        exporter = _Recorder(
            endpoint=f"{url}/v1/metrics",
            headers={"X-API-Key": key.api_key or ""},
            compression=Compression.Gzip,
            # Counters as deltas: the receiver accumulates them into cumulative counters.
            preferred_temporality={Counter: AggregationTemporality.DELTA},
        )
        exporter.results = []
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        resource = Resource.create({"service.name": "support-bot", "service.instance.id": "p1"})
        provider = MeterProvider(metric_readers=[reader], resource=resource)
        meter = provider.get_meter("agent")
        tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        calls = meter.create_counter("agent.calls", unit="{call}")
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
        tokens.record(120, {**attrs, "gen_ai.token.type": "input"})
        tokens.record(30, {**attrs, "gen_ai.token.type": "output"})
        duration.record(0.75, attrs)
        calls.add(2, attrs)
        assert await asyncio.to_thread(provider.force_flush)
        calls.add(3, attrs)
        assert await asyncio.to_thread(provider.force_flush)
        await asyncio.to_thread(provider.shutdown)
        assert exporter.results and all(r is MetricExportResult.SUCCESS for r in exporter.results)

        store = app.state.deck.store
        await store.flush()
        found = await store.select(
            key.tenant_id, [Matcher("__name__", MatchOp.re, "gen_ai.+|agent.+")], 0, 10**13
        )
    labels = {
        "agent": "support-bot",
        "job": "support-bot",
        "instance": "p1",
        "gen_ai_operation_name": "chat",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    by_key = {(s.name, tuple(sorted(s.labels.items()))): s.values.tolist() for s in found}

    def values(name: str, **extra: str) -> list[float]:
        return by_key[(name, tuple(sorted({**labels, **extra}.items())))]

    # Delta counter: 2, then 2 + 3.
    assert values("agent_calls_total") == [2.0, 5.0]
    # Histograms are cumulative: both exports carry the same totals.
    assert values("gen_ai_client_token_usage_sum", gen_ai_token_type="input")[-1] == 120.0
    assert values("gen_ai_client_token_usage_sum", gen_ai_token_type="output")[-1] == 30.0
    assert values("gen_ai_client_token_usage_count", gen_ai_token_type="input")[-1] == 1.0
    assert values("gen_ai_client_operation_duration_seconds_sum")[-1] == 0.75
    assert values("gen_ai_client_operation_duration_seconds_bucket", le="5")[-1] == 1.0
    assert values("gen_ai_client_operation_duration_seconds_bucket", le="0")[-1] == 0.0
    assert values("gen_ai_client_operation_duration_seconds_bucket", le="+Inf")[-1] == 1.0
