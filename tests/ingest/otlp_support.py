"""Helpers for the OTLP and remote-write tests: request builders and a live server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

# A whole minute an hour ago: inside retention, not in the future.
T0_MS = (time.time_ns() // 1_000_000 // 60_000) * 60_000 - 3_600_000
T0_NS = T0_MS * 1_000_000
DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE


def kvs(attributes: Mapping[str, Any]) -> list[KeyValue]:
    out = []
    for key, value in attributes.items():
        kv = KeyValue(key=key)
        if isinstance(value, bool):
            kv.value.bool_value = value
        elif isinstance(value, int):
            kv.value.int_value = value
        elif isinstance(value, float):
            kv.value.double_value = value
        else:
            kv.value.string_value = value
        out.append(kv)
    return out


def request(
    metrics: Sequence[metrics_pb2.Metric],
    resource: Mapping[str, Any] | None = None,
) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(
        kvs(resource if resource is not None else {"service.name": "bot-1"})
    )
    sm = rm.scope_metrics.add()
    sm.scope.name = "tests"
    sm.metrics.extend(metrics)
    return req


def gauge(
    name: str, points: Sequence[tuple[Mapping[str, Any], float, int]], unit: str = ""
) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name=name, unit=unit, description=f"{name} help")
    for attrs, value, t_ns in points:
        p = m.gauge.data_points.add(time_unix_nano=t_ns)
        p.attributes.extend(kvs(attrs))
        if isinstance(value, int):
            p.as_int = value
        else:
            p.as_double = value
    return m


def sum_metric(
    name: str,
    points: Sequence[tuple[Mapping[str, Any], float, int]],
    *,
    monotonic: bool = True,
    temporality: int = CUMULATIVE,
    unit: str = "",
) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name=name, unit=unit)
    m.sum.is_monotonic = monotonic
    m.sum.aggregation_temporality = temporality  # type: ignore[assignment]
    for attrs, value, t_ns in points:
        p = m.sum.data_points.add(time_unix_nano=t_ns)
        p.attributes.extend(kvs(attrs))
        p.as_double = float(value)
    return m


def histogram(
    name: str,
    attrs: Mapping[str, Any],
    bounds: Sequence[float],
    counts: Sequence[int],
    total: float,
    t_ns: int = T0_NS,
    *,
    unit: str = "",
    temporality: int = CUMULATIVE,
) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name=name, unit=unit)
    m.histogram.aggregation_temporality = temporality  # type: ignore[assignment]
    p = m.histogram.data_points.add(time_unix_nano=t_ns, count=sum(counts), sum=total)
    p.attributes.extend(kvs(attrs))
    p.explicit_bounds.extend(bounds)
    p.bucket_counts.extend(counts)
    return m


def summary(
    name: str, quantiles: Mapping[float, float], count: int, total: float, t_ns: int = T0_NS
) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name=name)
    p = m.summary.data_points.add(time_unix_nano=t_ns, count=count, sum=total)
    for q, v in quantiles.items():
        p.quantile_values.add(quantile=q, value=v)
    return m


def exponential(name: str, t_ns: int = T0_NS) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name=name)
    m.exponential_histogram.aggregation_temporality = CUMULATIVE  # type: ignore[assignment]
    p = m.exponential_histogram.data_points.add(time_unix_nano=t_ns, count=2, sum=3.0, scale=0)
    p.positive.offset = 0
    p.positive.bucket_counts.extend([1, 1])
    return m


T = TypeVar("T")


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan included) with uvicorn on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_for(lambda: _started(server, task), seconds=20, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what failed the start
        raise RuntimeError("uvicorn stopped before it started")
    return server.started


async def wait_for(
    check: Callable[[], Awaitable[T]], *, seconds: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(interval)


# --- requests encoded field by field (to keep an unusual field order or layout) -----------------


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def wire(number: int, payload: bytes) -> bytes:
    """A length-delimited field (a message, bytes or a string) as protobuf encodes it."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def point_part(**fields: Any) -> bytes:
    """Fields of a ``NumberDataPoint`` encoded by the real message class; parts concatenate
    into a point in whatever order (a field given twice: the last one counts)."""
    attributes = fields.pop("attributes", None)
    point = metrics_pb2.NumberDataPoint(**fields)
    if attributes is not None:
        point.attributes.extend(kvs(attributes))
    return point.SerializeToString()


def raw_gauge(name: str, points: Sequence[bytes], unit: str = "") -> bytes:
    """An encoded ``Metric`` with a gauge of the given encoded points."""
    head = metrics_pb2.Metric(name=name, unit=unit, description=f"{name} help").SerializeToString()
    return head + wire(5, b"".join(wire(1, p) for p in points))


def raw_sum(
    name: str,
    points: Sequence[bytes],
    *,
    monotonic: bool = True,
    temporality: int = CUMULATIVE,
) -> bytes:
    """An encoded ``Metric`` with a sum of the given encoded points."""
    flags = metrics_pb2.Sum(is_monotonic=monotonic, aggregation_temporality=temporality)  # type: ignore[arg-type]
    body = flags.SerializeToString() + b"".join(wire(1, p) for p in points)
    return metrics_pb2.Metric(name=name).SerializeToString() + wire(7, body)


def raw_request(resources: Sequence[tuple[Mapping[str, Any], Sequence[bytes]]]) -> bytes:
    """An ``ExportMetricsServiceRequest`` body: per resource (attributes, encoded metrics)."""
    body = b""
    for attributes, metrics in resources:
        resource = Resource(attributes=kvs(attributes)).SerializeToString()
        scope = wire(1, InstrumentationScope(name="tests").SerializeToString())
        scope += b"".join(wire(2, m) for m in metrics)
        body += wire(1, wire(1, resource) + wire(2, scope))
    return body
