"""The bulk protobuf path (``_otlp_fast``) gives exactly what the message-by-message path gives.

Each request is translated both ways: ``translate(parse_request(body))`` (every data point a
protobuf message) and ``translate_protobuf(body)`` (points read in bulk). The samples handed to
ingest, the delta rows, metadata, point ranges and errors must be identical; the stored result
too (see ``test_both_paths_store_the_same``).
"""

from __future__ import annotations

import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.errors import Malformed
from agentdeck.ingest.batch import SampleColumns
from agentdeck.ingest.decoders import otlp
from agentdeck.ingest.decoders.otlp_fast import batch, translate_protobuf
from agentdeck.settings import TSDBSettings
from tests.ingest.ingest_support import rows_and_columns_agree
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
    raw_sum,
    request,
    sum_metric,
    summary,
    varint,
    wire,
)

NOW = T0_MS + 30_000
RESOURCE = {"service.name": "bot-1", "service.instance.id": "i-1"}
BASE = {"agent": "bot-1", "job": "bot-1", "instance": "i-1"}


def _value(value: float) -> Any:
    """Values compared bit for bit (so 0.0 and -0.0 differ), any NaN as one."""
    return "NaN" if math.isnan(value) else struct.pack("<d", value)


def _ingested(translation: otlp.Translation) -> list[tuple[Any, ...]]:
    """The samples a translation hands to ingest (without deltas), in order."""
    columns = batch(translation, now_ms=NOW).samples
    if not isinstance(columns, SampleColumns):
        assert columns == ()  # no columns only when there is nothing to ingest
        return []
    assert columns.indexes is not None
    return [
        (name, dict(columns.label_sets[token] or {}), _value(value), ts, index)
        for name, token, value, ts, index in zip(
            columns.names,
            columns.tokens,
            columns.values.tolist(),
            columns.timestamps.tolist(),
            columns.indexes.tolist(),
            strict=True,
        )
    ]


def _summary(translation: otlp.Translation) -> dict[str, Any]:
    return {
        "samples": _ingested(translation),
        "deltas": [
            (n, dict(labels), _value(v), ts, i) for n, labels, v, ts, i in translation.deltas
        ],
        "metadata": translation.metadata,
        "ranges": translation.ranges,
        "points": translation.points,
        "errors": [(e.index, e.field, e.message) for e in translation.errors],
        "reasons": [e.reason for e in translation.errors],
    }


def both(body: bytes) -> dict[str, Any]:
    """Translate ``body`` both ways; they must agree. Returns what they gave."""
    slow = otlp.translate(otlp.parse_request(body, otlp.PROTOBUF), now_ms=NOW)
    fast = translate_protobuf(body, now_ms=NOW)
    expected, got = _summary(slow), _summary(fast)
    assert got == expected
    return got


def test_a_plain_gauge_request_is_read_in_bulk() -> None:
    points = [
        ({"agent.template": f"t{i % 3}"}, float(i) + 0.5, T0_NS + i * 10**9) for i in range(6)
    ]
    body = request([gauge("agent.cpu.utilization", points, unit="1")], RESOURCE).SerializeToString()
    fast = translate_protobuf(body, now_ms=NOW)
    assert fast.rows == [] and fast.columns is not None  # nothing went the slow way
    got = both(body)
    assert [(s[0], s[1], s[3], s[4]) for s in got["samples"]] == [
        (
            "agent_cpu_utilization_ratio",
            {"agent_template": f"t{i % 3}", **BASE},
            T0_MS + i * 1000,
            i,
        )
        for i in range(6)
    ]
    assert [s[2] for s in got["samples"]] == [_value(i + 0.5) for i in range(6)]


def test_int_and_special_values_and_missing_times() -> None:
    values: list[float] = [0, -0.0, 0.0, 7, -3, 2**62, 2**63 - 1, -(2**63)]
    values += [math.inf, -math.inf, math.nan, 1e-310, -2.5]
    points = [({"k": "v"}, v, T0_NS if i % 2 else 0) for i, v in enumerate(values)]
    got = both(request([gauge("g", points)], RESOURCE).SerializeToString())
    assert [s[2] for s in got["samples"]] == [_value(0.0 if v == 0 else float(v)) for v in values]
    assert [s[3] for s in got["samples"]] == [T0_MS if i % 2 else NOW for i in range(len(values))]


def test_attributes_of_every_kind_and_colliding_keys() -> None:
    def kv(key: str, **value: Any) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(**value))

    array = AnyValue()
    array.array_value.values.add(string_value="x")
    array.array_value.values.add(int_value=2)
    nested = AnyValue()
    nested.kvlist_value.values.add(key="inner", value=AnyValue(bool_value=True))
    metric = metrics_pb2.Metric(name="g")
    sets = [
        [kv("s", string_value="text"), kv("b", bool_value=False), kv("i", int_value=-4)],
        [kv("d", double_value=0.1), kv("raw", bytes_value=b"\x00\xff"), kv("empty")],
        [KeyValue(key="arr", value=array), KeyValue(key="kv", value=nested)],
        [kv("a.b", string_value="2"), kv("a_b", string_value="1"), kv("", string_value="x")],
        [kv("__", string_value="dropped"), kv("agent", string_value="overridden")],
        [kv("long", string_value="v" * 300)],  # a two-byte length
        [],
    ]
    for i, attributes in enumerate(sets):
        p = metric.gauge.data_points.add(time_unix_nano=T0_NS, as_double=float(i))
        p.attributes.extend(attributes)
    body = request([metric], RESOURCE).SerializeToString()
    assert translate_protobuf(body, now_ms=NOW).rows == []
    got = both(body)
    assert got["samples"][3][1] == {"a_b": "2;1", **BASE}
    assert got["samples"][4][1] == BASE  # the resource's agent wins


def test_same_attributes_in_another_resource_get_that_resources_labels() -> None:
    body = raw_request(
        [
            (
                {"service.name": name},
                [raw_gauge("g", [point_part(attributes={"k": "v"}, as_int=i)])],
            )
            for i, name in enumerate(["a", "b", "a"])
        ]
    )
    got = both(body)
    assert [s[1]["agent"] for s in got["samples"]] == ["a", "b", "a"]


def test_unusual_field_order_duplicates_and_oneof() -> None:
    attrs = point_part(attributes={"x": "1", "y": "2"})
    t, v = point_part(time_unix_nano=T0_NS), point_part(as_double=2.5)
    points = [
        attrs + t + v,  # attributes first (as some encoders write them)
        v + attrs + t,
        t + point_part(time_unix_nano=T0_NS + 10**9) + v + attrs,  # the last time counts
        t + point_part(as_double=1.0) + point_part(as_int=9) + attrs,  # the last of the oneof
        t + point_part(as_int=9) + point_part(as_double=1.0) + attrs,
        t + point_part(attributes={"x": "1"}) + v + point_part(attributes={"y": "2"}),  # split
        point_part(start_time_unix_nano=T0_NS - 10**9) + t + v + attrs,
        point_part(flags=2) + t + v + attrs,  # an unknown flag: still a sample
        attrs + point_part(flags=1) + t + v,  # no recorded value: skipped
        point_part(flags=1),
        b"",  # no field at all: 0 at "now"
        t + v + attrs + point_part(flags=2**20),  # a long varint
    ]
    got = both(raw_request([(RESOURCE, [raw_gauge("g", points)])]))
    assert len(got["samples"]) == len(points) - 2
    assert got["samples"][2][3] == T0_MS + 1000
    assert [s[2] for s in got["samples"][3:5]] == [_value(9.0), _value(1.0)]
    assert got["samples"][5][1] == {"x": "1", "y": "2", **BASE}
    assert got["samples"][-2][1:4] == (BASE, _value(0.0), NOW)


def test_exemplars_and_unknown_fields_take_the_message_path() -> None:
    exemplar = metrics_pb2.NumberDataPoint()
    exemplar.exemplars.add(time_unix_nano=T0_NS, as_double=1.0, trace_id=b"t" * 16)
    plain = point_part(time_unix_nano=T0_NS, as_double=1.0, attributes={"k": "v"})
    points = [
        plain,
        plain + exemplar.SerializeToString(),
        plain + wire(15, b"unknown"),
        plain + varint(99 << 3 | 0) + varint(5),  # an unknown varint field, two-byte tag
        plain,
    ]
    body = raw_request([(RESOURCE, [raw_gauge("g", points)])])
    fast = translate_protobuf(body, now_ms=NOW)
    assert [row[4] for row in fast.rows] == [1, 2, 3]
    got = both(body)
    assert [s[4] for s in got["samples"]] == [0, 1, 2, 3, 4]


def test_sums_deltas_and_other_kinds_keep_their_order() -> None:
    body = request(
        [
            sum_metric("requests", [({"m": "a"}, 4, T0_NS), ({"m": "b"}, 5, T0_NS)]),
            histogram("latency", {"m": "a"}, [0.1, 1.0], [1, 2, 3], 2.5, unit="s"),
            sum_metric("tokens", [({}, 3, T0_NS), ({}, 4, T0_NS + 10**9)], temporality=DELTA),
            gauge("g", [({}, 1.0, T0_NS)]),
            summary("rpc", {0.5: 0.2}, 3, 1.0),
            sum_metric("inflight", [({}, -2, T0_NS)], monotonic=False),
            exponential("expo"),
            histogram("h2", {}, [1.0], [1, 1], 3.0, temporality=DELTA),
            sum_metric("more", [({"q": "x"}, 1, T0_NS)], temporality=DELTA),
            gauge("bad name ", [({}, 1.0, T0_NS)]),
            gauge("", [({}, 1.0, T0_NS), ({}, 2.0, T0_NS)]),
        ],
        RESOURCE,
    ).SerializeToString()
    got = both(body)
    assert [d[0] for d in got["deltas"]] == [
        "tokens_total",
        "tokens_total",
        "h2_sum",
        "h2_count",
        "h2_bucket",
        "h2_bucket",
        "more_total",
    ]
    assert got["reasons"] == ["unsupported_type", "invalid_name", "invalid_name"]
    assert {s[0] for s in got["samples"]} >= {"requests_total", "latency_seconds_bucket", "g"}


def test_request_without_number_points() -> None:
    both(request([histogram("h", {}, [1.0], [1, 1], 3.0)], RESOURCE).SerializeToString())
    both(request([gauge("g", [])], RESOURCE).SerializeToString())
    both(request([], RESOURCE).SerializeToString())
    both(b"")


@pytest.mark.parametrize(
    "point",
    [
        point_part(time_unix_nano=T0_NS)[:-3],  # cut short
        b"\x3a\x05\x0a\x01a",  # attributes longer than the point
        b"\x3a\x04\x0a\x02\xff\xfe",  # a key that is not UTF-8
        point_part(flags=1) + b"\x3a\x04\x0a\x02\xff\xfe",  # ... even with no value recorded
        b"\x00",  # field number 0
    ],
)
def test_malformed_points_are_refused_like_before(point: bytes) -> None:
    body = raw_request([(RESOURCE, [raw_gauge("g", [point_part(as_double=1.0), point])])])
    with pytest.raises(Malformed) as slow:
        otlp.parse_request(body, otlp.PROTOBUF)
    with pytest.raises(Malformed) as fast:
        translate_protobuf(body, now_ms=NOW)
    assert str(fast.value) == str(slow.value)


def _random_point(rng: random.Random, attribute_sets: list[dict[str, Any]]) -> bytes:
    parts = []
    if rng.random() < 0.9:
        parts.append(point_part(time_unix_nano=T0_NS + rng.randrange(5) * 10**9))
    if rng.random() < 0.3:
        parts.append(point_part(start_time_unix_nano=T0_NS - 10**9))
    choice = rng.random()
    if choice < 0.5:
        value = rng.choice([0.0, -0.0, 1.5, math.nan, math.inf, -1e300, rng.random()])
        parts.append(point_part(as_double=value))
    elif choice < 0.9:
        parts.append(point_part(as_int=rng.choice([0, 1, -1, 2**63 - 1, rng.randrange(10**6)])))
    attributes = rng.choice(attribute_sets)
    if attributes:
        parts.append(point_part(attributes=attributes))
    if rng.random() < 0.1:
        parts.append(point_part(flags=rng.choice([1, 2, 3])))
    if rng.random() < 0.05:
        point = metrics_pb2.NumberDataPoint()
        point.exemplars.add(as_int=1)
        parts.append(point.SerializeToString())
    if rng.random() < 0.2:
        rng.shuffle(parts)
    return b"".join(parts)


@pytest.mark.parametrize("seed", range(40))
def test_random_requests_agree(seed: int) -> None:
    rng = random.Random(seed)
    attribute_sets: list[dict[str, Any]] = [
        {},
        {"k": "v"},
        {"k": "w", "n": 3},
        {"gen_ai.request.model": "m" * rng.randrange(1, 200), "ok": True},
        {"f": 0.25, "k.x": "1", "k_x": "2"},
    ]
    resources = []
    for r in range(rng.randrange(1, 4)):
        metrics = []
        for m in range(rng.randrange(0, 6)):
            points = [_random_point(rng, attribute_sets) for _ in range(rng.randrange(0, 12))]
            if rng.random() < 0.5:
                metrics.append(raw_gauge(f"metric.{m % 3}", points, unit=rng.choice(["", "ms"])))
            else:
                temporality = rng.choice([DELTA, metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE])
                metrics.append(
                    raw_sum(
                        f"sum.{m % 2}",
                        points,
                        monotonic=rng.random() < 0.7,
                        temporality=temporality,
                    )
                )
            if rng.random() < 0.2:
                h = histogram("h", rng.choice(attribute_sets), [1.0], [1, 2], 2.0)
                metrics.append(h.SerializeToString())
        resources.append(({"service.name": f"bot-{r % 2}"}, metrics))
    both(raw_request(resources))


async def test_both_paths_store_the_same(tmp_path: Path, session: AsyncSession) -> None:
    """Ingested either way: the same series, samples, refusals and counters."""
    now = otlp_now = T0_MS + 3_600_000 - 60_000
    t = (now - 60_000) * 1_000_000
    body = request(
        [
            gauge("cpu", [({"t": f"t{i % 3}"}, float(i), t + i * 10**9) for i in range(12)]),
            gauge("queue", [({}, 3, t), ({}, math.nan, t + 1), ({"k": "v" * 2049}, 1.0, t)]),
            gauge("old", [({}, 1.0, (now - 40 * 86_400_000) * 1_000_000)]),
            gauge("ahead", [({}, 1.0, (now + 3_600_000) * 1_000_000)]),
            sum_metric("jobs", [({"queue": "a"}, 5, t), ({"queue": "b"}, 6, t)]),
            histogram("llm.latency", {"model": "m1"}, [0.1, 1.0], [1, 2, 3], 2.5, t, unit="s"),
            gauge("wide", [({"n": str(i)}, 1.0, t) for i in range(25)]),
        ],
        RESOURCE,
    ).SerializeToString()
    slow = otlp.translate(otlp.parse_request(body, otlp.PROTOBUF), now_ms=otlp_now)
    fast = translate_protobuf(body, now_ms=otlp_now)
    columns = batch(fast, now_ms=now).samples
    assert isinstance(columns, SampleColumns)
    got = await rows_and_columns_agree(
        tmp_path,
        session=session,
        settings=TSDBSettings(max_active_series=30),
        rows=slow.rows,
        columns=columns,
        errors=slow.errors,
        now_ms=now,
    )
    assert got.rejected >= 5 and got.accepted > 30


def test_the_batch_puts_cumulative_deltas_last() -> None:
    body = request([gauge("g", [({"k": "v"}, 1.0, T0_NS)]), summary("s", {}, 2, 3.0)], RESOURCE)
    fast = translate_protobuf(body.SerializeToString(), now_ms=NOW)
    cumulative = [("c_total", dict(BASE), 5.0, T0_MS, 0)]
    columns = batch(fast, cumulative, now_ms=NOW).samples
    assert isinstance(columns, SampleColumns) and columns.indexes is not None
    assert list(columns.names) == ["g", "s_sum", "s_count", "c_total"]
    assert columns.indexes.tolist() == [0, 1, 1, 0]
    # A row without a timestamp is stamped now, in point order.
    fast.rows.append(("late", dict(BASE), 2.0, None, 2))
    columns = batch(fast, cumulative, now_ms=NOW).samples
    assert isinstance(columns, SampleColumns) and columns.indexes is not None
    assert list(columns.names) == ["g", "s_sum", "s_count", "late", "c_total"]
    assert columns.timestamps.tolist() == [T0_MS, T0_MS, T0_MS, NOW, T0_MS]
    assert columns.indexes.tolist() == [0, 1, 1, 2, 0]
    assert [columns.label_sets[t] for t in columns.tokens] == [
        {"k": "v", **BASE},
        BASE,
        BASE,
        BASE,
        BASE,
    ]


def _outcome(translate: Any, body: bytes) -> Any:
    try:
        return _summary(translate(body))
    except Malformed as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("seed", range(12))
def test_damaged_bodies_give_the_same_answer(seed: int) -> None:
    """Random bytes of a valid body changed: both paths refuse it alike or agree on it."""
    rng = random.Random(seed)
    points = [_random_point(rng, [{}, {"k": "v"}, {"a": 1, "b": True}]) for _ in range(6)]
    metrics = [
        raw_gauge("g", points),
        raw_sum("s", [point_part(time_unix_nano=T0_NS, as_int=3, attributes={"k": "v" * 130})]),
        histogram("h", {"k": "v"}, [1.0], [1, 2], 2.0).SerializeToString(),
    ]
    original = raw_request([(RESOURCE, metrics)])

    def slow(body: bytes) -> otlp.Translation:
        return otlp.translate(otlp.parse_request(body, otlp.PROTOBUF), now_ms=NOW)

    def fast(body: bytes) -> otlp.Translation:
        return translate_protobuf(body, now_ms=NOW)

    for _ in range(150):
        body = bytearray(original)
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        assert _outcome(fast, bytes(body)) == _outcome(slow, bytes(body)), bytes(body).hex()
