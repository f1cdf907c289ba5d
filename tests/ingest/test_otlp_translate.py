"""OTLP decoding and translation to samples, without HTTP or a store."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from google.protobuf import json_format

from agentdeck.compression import decompress
from agentdeck.errors import Malformed, TooLarge, UnsupportedMediaType
from agentdeck.ingest.decoders import otlp
from agentdeck.ingest.decoders.otlp_deltas import DeltaAccumulator
from tests.ingest.otlp_support import (
    DELTA,
    T0_MS,
    T0_NS,
    exponential,
    gauge,
    histogram,
    request,
    sum_metric,
    summary,
)

RESOURCE = {
    "service.name": "support-bot",
    "service.namespace": "fleet",
    "service.instance.id": "pod-7",
    "deployment.environment": "prod",
}
BASE = {"agent": "support-bot", "job": "fleet/support-bot", "instance": "pod-7"}


def rows(translation: otlp.Translation) -> list[tuple[str, dict[str, str], float, int | None]]:
    return [(name, dict(labels), value, ts) for name, labels, value, ts, _ in translation.rows]


def translate(*metrics: object, resource: dict[str, object] | None = None) -> otlp.Translation:
    req = request(metrics, RESOURCE if resource is None else resource)  # type: ignore[arg-type]
    decoded = otlp.parse_request(req.SerializeToString(), otlp.PROTOBUF)
    return otlp.translate(decoded, now_ms=T0_MS + 5)


def test_gauge_name_unit_and_labels() -> None:
    t = translate(
        gauge(
            "system.cpu.utilization",
            [({"cpu.core": 1, "gen_ai.request.model": "m"}, 0.25, T0_NS)],
            unit="1",
        ),
        gauge("queue.depth", [({}, 7, T0_NS + 1_000_000)], unit="{item}"),
    )
    assert rows(t) == [
        (
            "system_cpu_utilization_ratio",
            {"cpu_core": "1", "gen_ai_request_model": "m", **BASE},
            0.25,
            T0_MS,
        ),
        ("queue_depth", BASE, 7.0, T0_MS + 1),
    ]
    assert [(m.name, m.type, m.unit, m.help) for m in t.metadata] == [
        ("system_cpu_utilization_ratio", "gauge", "", "system.cpu.utilization help"),
        ("queue_depth", "gauge", "", "queue.depth help"),
    ]
    assert t.points == 2 and not t.errors


def test_cumulative_sums_monotonic_and_not() -> None:
    t = translate(
        sum_metric("http.server.requests", [({"http.method": "GET"}, 12, T0_NS)], unit="{request}"),
        sum_metric("memory.used", [({}, 2048, T0_NS)], monotonic=False, unit="By"),
    )
    assert rows(t) == [
        ("http_server_requests_total", {"http_method": "GET", **BASE}, 12.0, T0_MS),
        ("memory_used_bytes", BASE, 2048.0, T0_MS),
    ]
    assert [(m.name, m.type, m.unit) for m in t.metadata] == [
        ("http_server_requests_total", "counter", ""),
        ("memory_used_bytes", "gauge", "bytes"),
    ]


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    t = translate(
        histogram(
            "gen_ai.client.operation.duration",
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"},
            [0.1, 0.5, 2.5],
            [1, 2, 0, 3],
            9.75,
            unit="s",
        )
    )
    labels = {"gen_ai_operation_name": "chat", "gen_ai_request_model": "gpt-4o", **BASE}
    name = "gen_ai_client_operation_duration_seconds"
    assert rows(t) == [
        (f"{name}_sum", labels, 9.75, T0_MS),
        (f"{name}_count", labels, 6.0, T0_MS),
        (f"{name}_bucket", {**labels, "le": "0.1"}, 1.0, T0_MS),
        (f"{name}_bucket", {**labels, "le": "0.5"}, 3.0, T0_MS),
        (f"{name}_bucket", {**labels, "le": "2.5"}, 3.0, T0_MS),
        (f"{name}_bucket", {**labels, "le": "+Inf"}, 6.0, T0_MS),
    ]
    assert [(m.name, m.type, m.unit) for m in t.metadata] == [(name, "histogram", "seconds")]
    # Every sample of the point carries the point's index.
    assert {row[4] for row in t.rows} == {0}


def test_token_usage_histogram_per_token_type() -> None:
    t = translate(
        histogram(
            "gen_ai.client.token.usage",
            {"gen_ai.token.type": "input"},
            [100],
            [1, 0],
            42,
            unit="{token}",
        ),
        histogram(
            "gen_ai.client.token.usage",
            {"gen_ai.token.type": "output"},
            [100],
            [0, 1],
            180,
            unit="{token}",
        ),
    )
    sums = [
        (name, labels["gen_ai_token_type"], value)
        for name, labels, value, _, _ in t.rows
        if name.endswith("_sum")
    ]
    assert sums == [
        ("gen_ai_client_token_usage_sum", "input", 42.0),
        ("gen_ai_client_token_usage_sum", "output", 180.0),
    ]


def test_summary_quantiles() -> None:
    t = translate(summary("rpc.latency", {0.5: 0.2, 0.99: 1.5}, 10, 3.5))
    assert rows(t) == [
        ("rpc_latency_sum", BASE, 3.5, T0_MS),
        ("rpc_latency_count", BASE, 10.0, T0_MS),
        ("rpc_latency", {**BASE, "quantile": "0.5"}, 0.2, T0_MS),
        ("rpc_latency", {**BASE, "quantile": "0.99"}, 1.5, T0_MS),
    ]


def test_exponential_histogram_points_are_rejected_by_name() -> None:
    t = translate(gauge("ok", [({}, 1.0, T0_NS)]), exponential("llm.latency"))
    assert rows(t) == [("ok", BASE, 1.0, T0_MS)]
    assert [e.index for e in t.errors] == [1] and t.points == 2
    assert [e.reason for e in t.errors] == ["unsupported_type"]
    assert t.metric_of(1) == "llm.latency" and t.metric_of(0) == "ok"
    assert "exponential histograms are not supported" in t.errors[0].message


def test_histogram_with_wrong_bucket_count_is_rejected() -> None:
    t = translate(histogram("h", {}, [1.0, 2.0], [1, 1], 2.0))
    assert t.rows == [] and [e.index for e in t.errors] == [0]
    assert "2 bucket counts for 2 bounds" in t.errors[0].message


def test_missing_timestamp_uses_now_and_no_recorded_value_is_skipped() -> None:
    m = gauge("g", [({}, 1.0, 0), ({"a": "b"}, 2.0, T0_NS)])
    m.gauge.data_points[1].flags = 1  # NO_RECORDED_VALUE
    t = translate(m)
    assert rows(t) == [("g", BASE, 1.0, T0_MS + 5)]
    assert not t.errors


def test_agent_label_falls_back_to_gen_ai_agent_name() -> None:
    resource = {"service.name": "unknown_service:python", "gen_ai.agent.name": "planner"}
    t = translate(gauge("g", [({}, 1.0, T0_NS)]), resource=resource)
    assert t.rows[0][1] == {"agent": "planner", "job": "unknown_service:python"}
    t = translate(gauge("g", [({}, 1.0, T0_NS)]), resource={"gen_ai.agent.id": "a-17"})
    assert t.rows[0][1] == {"agent": "a-17"}


def test_colliding_attribute_names_are_joined_in_key_order() -> None:
    attrs = {"x": True, "a.b": "2", "": "dropped", "a_b": "1", "n": 3, "f": 0.5}
    t = translate(gauge("g", [(attrs, 1.0, T0_NS)]), resource={})
    assert t.rows[0][1] == {"a_b": "2;1", "x": "true", "n": "3", "f": "0.5"}


def test_json_encoding_matches_protobuf() -> None:
    req = request(
        [
            histogram("h", {"k": "v"}, [1.0], [1, 1], 3.0, unit="ms"),
            sum_metric("c", [({}, 5, T0_NS)]),
        ],
        RESOURCE,
    )
    body = json_format.MessageToJson(req).encode()
    assert b'"timeUnixNano": "' in body  # int64 as a string, camelCase
    from_json = otlp.translate(otlp.parse_request(body, otlp.JSON), now_ms=0)
    from_pb = otlp.translate(otlp.parse_request(req.SerializeToString(), otlp.PROTOBUF), now_ms=0)
    assert rows(from_json) == rows(from_pb) and len(from_pb.rows) == 5


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"\xff\xff\xff", otlp.PROTOBUF),
        (b"{not json", otlp.JSON),
        (b"[1, 2]", otlp.JSON),
        (json.dumps({"resourceMetrics": "x"}).encode(), otlp.JSON),
    ],
)
def test_malformed_bodies(body: bytes, kind: str) -> None:
    with pytest.raises(Malformed) as raised:
        otlp.parse_request(body, kind)
    assert raised.value.kind == "malformed-body"


def test_gzip_and_its_limit() -> None:
    """OTLP bodies go through the one bounded decompressor (its own tests cover the rest)."""
    assert decompress(gzip.compress(b"abc"), "gzip", limit=10) == b"abc"
    with pytest.raises(TooLarge):
        decompress(gzip.compress(b"a" * 100), "gzip", limit=10)
    with pytest.raises(Malformed) as corrupt:
        decompress(b"not gzip", "gzip", limit=10)
    assert corrupt.value.kind == "malformed-body"


def test_media_types() -> None:
    assert otlp.media_type(None) == otlp.PROTOBUF
    assert otlp.media_type("application/json; charset=utf-8") == otlp.JSON
    with pytest.raises(UnsupportedMediaType):
        otlp.media_type("text/plain")


def test_response_encodings() -> None:
    assert otlp.encode_response(0, "", otlp.JSON) == b"{}"
    assert json.loads(otlp.encode_response(3, "bad", otlp.JSON)) == {
        "partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "bad"}
    }
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceResponse,
    )

    decoded = ExportMetricsServiceResponse.FromString(otlp.encode_response(3, "bad", otlp.PROTOBUF))
    assert decoded.partial_success.rejected_data_points == 3


def test_delta_accumulator_commits_only_accepted_points() -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    acc = DeltaAccumulator()
    t = translate(sum_metric("c", [({}, 2, T0_NS), ({}, 3, T0_NS + 10**9)], temporality=DELTA))
    assert t.rows == [] and len(t.deltas) == 2
    cumulative, steps = acc.cumulate(tenant, t.deltas)
    assert [(row[0], row[2]) for row in cumulative] == [("c_total", 2.0), ("c_total", 5.0)]
    acc.commit(tenant, steps, rejected_points=set())
    again, steps = acc.cumulate(tenant, t.deltas)
    assert [row[2] for row in again] == [7.0, 10.0]
    acc.commit(tenant, steps, rejected_points={0, 1})  # refused: totals stay
    assert [row[2] for row in acc.cumulate(tenant, t.deltas)[0]] == [7.0, 10.0]
    assert [row[2] for row in acc.cumulate(other, t.deltas)[0]] == [2.0, 5.0]
