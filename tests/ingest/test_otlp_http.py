"""``POST /v1/metrics``: encodings, partial success, bad bodies, auth and tenants."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.roles import Role
from agentdeck.ingest.models import MetricMetadata
from agentdeck.tsdb.base import Matcher, MatchOp
from tests.conftest import Factory
from tests.ingest.otlp_support import (
    DELTA,
    T0_MS,
    T0_NS,
    exponential,
    gauge,
    histogram,
    point_part,
    raw_gauge,
    raw_request,
    request,
    sum_metric,
    summary,
)

PB = {"Content-Type": "application/x-protobuf"}
RESOURCE = {"service.name": "bot-1", "service.instance.id": "i-1"}
BASE = {"agent": "bot-1", "job": "bot-1", "instance": "i-1"}


async def read(
    client: httpx.AsyncClient, tenant_id: uuid.UUID, name_regex: str = ".+"
) -> list[tuple[str, dict[str, str], list[tuple[int, float]]]]:
    store = client.app.state.deck.store  # type: ignore[attr-defined]
    await store.flush()
    series = await store.select(tenant_id, [Matcher("__name__", MatchOp.re, name_regex)], 0, 10**13)
    return [
        (s.name, s.labels, list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True)))
        for s in series
    ]


def pb_body(*metrics: Any, resource: dict[str, Any] | None = None) -> bytes:
    return request(metrics, RESOURCE if resource is None else resource).SerializeToString()


async def test_each_metric_kind_lands_with_prometheus_names(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    body = pb_body(
        gauge("agent.cpu.utilization", [({"core": 0}, 0.5, T0_NS)], unit="1"),
        sum_metric("gen_ai.requests", [({"gen_ai.request.model": "m1"}, 4, T0_NS)]),
        histogram(
            "gen_ai.client.token.usage",
            {"gen_ai.token.type": "input", "gen_ai.provider.name": "openai"},
            [10, 100],
            [1, 2, 0],
            120,
            unit="{token}",
        ),
        summary("rpc.latency", {0.5: 0.25}, 4, 1.5),
    )
    response = await client.post("/v1/metrics", content=body, headers={**key.headers, **PB})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not ExportMetricsServiceResponse.FromString(response.content).HasField("partial_success")
    tokens = {"gen_ai_token_type": "input", "gen_ai_provider_name": "openai", **BASE}
    assert await read(client, key.tenant_id) == [
        ("agent_cpu_utilization_ratio", {"core": "0", **BASE}, [(T0_MS, 0.5)]),
        ("gen_ai_client_token_usage_bucket", {**tokens, "le": "+Inf"}, [(T0_MS, 3.0)]),
        ("gen_ai_client_token_usage_bucket", {**tokens, "le": "10"}, [(T0_MS, 1.0)]),
        ("gen_ai_client_token_usage_bucket", {**tokens, "le": "100"}, [(T0_MS, 3.0)]),
        ("gen_ai_client_token_usage_count", tokens, [(T0_MS, 3.0)]),
        ("gen_ai_client_token_usage_sum", tokens, [(T0_MS, 120.0)]),
        ("gen_ai_requests_total", {"gen_ai_request_model": "m1", **BASE}, [(T0_MS, 4.0)]),
        ("rpc_latency", {**BASE, "quantile": "0.5"}, [(T0_MS, 0.25)]),
        ("rpc_latency_count", BASE, [(T0_MS, 4.0)]),
        ("rpc_latency_sum", BASE, [(T0_MS, 1.5)]),
    ]
    await session.rollback()
    rows = await session.scalars(
        select(MetricMetadata)
        .where(MetricMetadata.tenant_id == key.tenant_id)
        .order_by(MetricMetadata.name)
    )
    assert [(m.name, m.type, m.unit, m.help) for m in rows] == [
        ("agent_cpu_utilization_ratio", "gauge", "", "agent.cpu.utilization help"),
        ("gen_ai_client_token_usage", "histogram", "", ""),
        ("gen_ai_requests_total", "counter", "", ""),
        ("rpc_latency", "summary", "", ""),
    ]


async def test_delta_sums_accumulate_across_requests(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    for i, delta in enumerate([3, 4, 5]):
        metric = sum_metric("tokens", [({}, delta, T0_NS + i * 10**9)], temporality=DELTA)
        response = await client.post(
            "/v1/metrics", content=pb_body(metric), headers={**key.headers, **PB}
        )
        assert response.status_code == 200
    assert await read(client, key.tenant_id) == [
        ("tokens_total", BASE, [(T0_MS, 3.0), (T0_MS + 1000, 7.0), (T0_MS + 2000, 12.0)])
    ]


async def test_json_encoding_with_gzip(client: httpx.AsyncClient, factory: Factory) -> None:
    key = await factory.api_key(Role.developer)
    doc = json_format.MessageToJson(request([gauge("g", [({}, 2.5, T0_NS)])], RESOURCE))
    response = await client.post(
        "/v1/metrics",
        content=gzip.compress(doc.encode()),
        headers={**key.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    assert await read(client, key.tenant_id) == [("g", BASE, [(T0_MS, 2.5)])]


async def test_partial_success_keeps_good_points(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    doc = json_format.MessageToJson(
        request(
            [
                gauge("good", [({}, 1.0, T0_NS)]),
                exponential("llm.latency"),
                gauge("long.label", [({"x": "v" * 3000}, 1.0, T0_NS)]),
            ],
            RESOURCE,
        )
    )
    response = await client.post(
        "/v1/metrics", content=doc, headers={**key.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "2"
    assert "'llm.latency'" in partial["errorMessage"]
    assert "exponential histograms are not supported" in partial["errorMessage"]
    assert "'long.label'" in partial["errorMessage"]
    assert await read(client, key.tenant_id) == [("good", BASE, [(T0_MS, 1.0)])]


async def test_names_over_the_limits_are_refused_per_point_with_a_short_message(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    payload = pb_body(
        gauge("good", [({}, 1.0, T0_NS)]),
        gauge("n" * (1 << 20), [({}, 2.0, T0_NS)]),
        gauge("attr", [({"k" * 300: "v"}, 3.0, T0_NS)]),
    )
    response = await client.post("/v1/metrics", content=payload, headers={**key.headers, **PB})
    assert response.status_code == 200
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 2
    message = answer.partial_success.error_message
    assert len(message) < 1000
    assert "metric name is 1048576 bytes; the limit is 255" in message
    assert "label name is 300 bytes; the limit is 255" in message
    assert await read(client, key.tenant_id) == [("good", BASE, [(T0_MS, 1.0)])]


async def test_malformed_bodies_are_400_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    cases: list[tuple[bytes, dict[str, str]]] = [
        (b"\x0a\xff\xff\xff", PB),
        (b"{nope", {"Content-Type": "application/json"}),
        (json.dumps({"resourceMetrics": 5}).encode(), {"Content-Type": "application/json"}),
        (b"not gzip", {**PB, "Content-Encoding": "gzip"}),
        (b"x", {**PB, "Content-Encoding": "br"}),  # an unknown encoding: 400, not 415
    ]
    for body, headers in cases:
        response = await client.post(
            "/v1/metrics", content=body, headers={**key.headers, **headers}
        )
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/malformed-body"
    response = await client.post(
        "/v1/metrics", content=b"x", headers={**key.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"
    assert await read(client, key.tenant_id) == []


async def test_samples_land_in_the_keys_tenant_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    a = await factory.api_key(Role.developer)
    b = await factory.api_key(Role.admin)
    body_a = pb_body(gauge("shared", [({}, 1.0, T0_NS)]))
    body_b = pb_body(gauge("shared", [({}, 2.0, T0_NS)]))
    assert (
        await client.post("/v1/metrics", content=body_a, headers={**a.headers, **PB})
    ).is_success
    assert (
        await client.post("/v1/metrics", content=body_b, headers={**b.headers, **PB})
    ).is_success
    assert await read(client, a.tenant_id) == [("shared", BASE, [(T0_MS, 1.0)])]
    assert await read(client, b.tenant_id) == [("shared", BASE, [(T0_MS, 2.0)])]


async def test_auth_viewer_403_and_no_key_401(client: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.api_key(Role.viewer)
    body = pb_body(gauge("g", [({}, 1.0, T0_NS)]))
    response = await client.post("/v1/metrics", content=body, headers={**viewer.headers, **PB})
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    response = await client.post("/v1/metrics", content=body, headers=PB)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/unauthorized"
    bearer = await factory.api_key(Role.developer)
    response = await client.post(
        "/v1/metrics",
        content=body,
        headers={"Authorization": f"Bearer {bearer.api_key}", **PB},
    )
    assert response.status_code == 200
    assert await read(client, viewer.tenant_id) == []


async def test_points_in_any_field_order_land_as_sent(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    attributes = point_part(attributes={"model": "m1"})
    points = [
        attributes + point_part(as_int=3) + point_part(time_unix_nano=T0_NS),
        point_part(time_unix_nano=T0_NS + 10**9, as_double=4.5) + attributes,
        point_part(flags=1, time_unix_nano=T0_NS + 2 * 10**9) + attributes,  # no value
    ]
    body = raw_request([(RESOURCE, [raw_gauge("queue.depth", points)])])
    response = await client.post("/v1/metrics", content=body, headers={**key.headers, **PB})
    assert response.status_code == 200, response.text
    assert not ExportMetricsServiceResponse.FromString(response.content).HasField("partial_success")
    assert await read(client, key.tenant_id) == [
        ("queue_depth", {"model": "m1", **BASE}, [(T0_MS, 3.0), (T0_MS + 1000, 4.5)])
    ]
    # A point cut short inside a well-formed request: the whole body is refused.
    broken = raw_request([(RESOURCE, [raw_gauge("g", [point_part(as_double=1.0)[:-2]])])])
    response = await client.post("/v1/metrics", content=broken, headers={**key.headers, **PB})
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-body"
