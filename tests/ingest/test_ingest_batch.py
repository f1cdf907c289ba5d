"""``POST /api/v1/metrics/batch``: both body forms, every per-sample limit, encodings, tenants."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import zstandard
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.identity.roles import Role
from agentdeck.ingest.models import MetricMetadata, MetricType
from tests.conftest import Factory
from tests.ingest.ingest_support import make_agent, now_ms, stored

URL = "/api/v1/metrics/batch"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def test_samples_are_stored_with_labels_timestamps_and_metadata(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    t = now_ms() - 60_000
    iso = datetime.fromtimestamp((t + 1000) / 1000, UTC).isoformat().replace("+00:00", "Z")
    body = {
        "samples": [
            {"name": "queue_depth", "value": 3, "timestamp": t, "labels": {"agent": "a1"}},
            {"name": "queue_depth", "value": 4.5, "timestamp": iso, "labels": {"agent": "a1"}},
            {
                "name": "jobs_total",
                "value": 7,
                "timestamp": t,
                "type": "counter",
                "unit": "",
                "help": "Jobs done.",
            },
        ]
    }
    response = await client.post(URL, json=body, headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "rejected": 0, "errors": []}
    assert await stored(client, key.tenant_id) == [
        ("jobs_total", {}, [(t, 7.0)]),
        ("queue_depth", {"agent": "a1"}, [(t, 3.0), (t + 1000, 4.5)]),
    ]
    meta = (
        await session.scalars(
            select(MetricMetadata).where(MetricMetadata.tenant_id == key.tenant_id)
        )
    ).all()
    assert [(m.name, m.type, m.help) for m in meta] == [
        ("jobs_total", MetricType.counter, "Jobs done.")
    ]


async def test_missing_timestamp_means_now(client: httpx.AsyncClient, factory: Factory) -> None:
    key = await factory.api_key(Role.developer)
    before = now_ms()
    response = await client.post(
        URL, json={"samples": [{"name": "up", "value": 1}]}, headers=key.headers
    )
    after = now_ms()
    assert response.status_code == 200, response.text
    [(name, labels, points)] = await stored(client, key.tenant_id)
    assert (name, labels, len(points)) == ("up", {}, 1)
    assert before <= points[0][0] <= after


async def test_compact_form_and_samples_in_one_body(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    agent = await make_agent(session, key.tenant_id, "planner")
    assert agent.last_seen_at is None
    t = now_ms() - 5_000
    body = {
        "samples": [{"name": "up", "value": 1, "timestamp": t, "labels": {"job": "x"}}],
        "agent": "planner",
        "timestamp": t,
        "labels": {"region": "eu"},
        "values": {"agent_cpu_percent": 12.5, "bad name": 1, "agent_memory_percent": "NaN"},
    }
    response = await client.post(URL, json=body, headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 2,
        "rejected": 2,
        "errors": [
            {
                "index": 2,
                "field": "name",
                "message": "metric name 'bad name' does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
            },
            {
                "index": 3,
                "field": "value",
                "message": "value must be a finite number, not the string 'NaN'",
            },
        ],
    }
    assert await stored(client, key.tenant_id) == [
        ("agent_cpu_percent", {"agent": "planner", "region": "eu"}, [(t, 12.5)]),
        ("up", {"job": "x"}, [(t, 1.0)]),
    ]
    await session.refresh(agent)
    assert agent.last_seen_at is not None


SAMPLE_LIMITS = [
    ({"value": 1}, "name", "metric name is missing"),
    ({"name": "", "value": 1}, "name", "metric name is missing"),
    (
        {"name": "9lives", "value": 1},
        "name",
        "metric name '9lives' does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
    ),
    ({"name": "m"}, "value", "value is missing"),
    ({"name": "m", "value": "NaN"}, "value", "value must be a finite number, not the string 'NaN'"),
    (
        {"name": "m", "value": "+Inf"},
        "value",
        "value must be a finite number, not the string '+Inf'",
    ),
    ({"name": "m", "value": True}, "value", "value must be a number"),
    (
        {"name": "m", "value": 1, "labels": {"__x": "1"}},
        "labels.__x",
        "label name '__x' starts with '__', which is reserved",
    ),
    (
        {"name": "m", "value": 1, "labels": {"a-b": "1"}},
        "labels.a-b",
        "label name 'a-b' does not match [a-zA-Z_][a-zA-Z0-9_]*",
    ),
    ({"name": "m", "value": 1, "labels": {"a": 1}}, "labels.a", "label value must be a string"),
    ({"name": "m", "value": 1, "labels": ["a"]}, "labels", "labels must be an object of strings"),
    ({"name": "m" * 256, "value": 1}, "name", "metric name is 256 bytes; the limit is 255"),
    (
        {"name": "m", "value": 1, "labels": {"l" * 256: "1"}},
        "labels." + "l" * 64 + "…",
        "label name is 256 bytes; the limit is 255",
    ),
    (
        {"name": "m", "value": 1, "labels": {f"l{i}": "v" for i in range(41)}},
        "labels",
        "41 labels; the limit is 40",
    ),
    (
        {"name": "m", "value": 1, "labels": {"a": "é" * 1025}},
        "labels.a",
        "label value is 2050 bytes; the limit is 2048",
    ),
    (
        {"name": "m", "value": 1, "timestamp": "yesterday"},
        "timestamp",
        "timestamp 'yesterday' is neither milliseconds nor an RFC 3339 time",
    ),
    (
        {"name": "m", "value": 1, "timestamp": "2026-01-01T00:00:00"},
        "timestamp",
        "timestamp '2026-01-01T00:00:00' has no time zone offset (RFC 3339 needs one, e.g. Z)",
    ),
    ({"name": "m", "value": 1, "type": "meter"}, "type", None),
]


@pytest.mark.parametrize(("sample", "field", "message"), SAMPLE_LIMITS)
async def test_each_sample_limit_has_its_error_and_good_samples_are_kept(
    client: httpx.AsyncClient,
    factory: Factory,
    sample: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    key = await factory.api_key(Role.developer)
    t = now_ms()
    good = {"name": "good", "value": 2, "timestamp": t}
    response = await client.post(URL, json={"samples": [good, sample]}, headers=key.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    [error] = body["errors"]
    assert (error["index"], error["field"]) == (1, field)
    if message is not None:
        assert error["message"] == message
    else:
        assert error["message"].startswith("type must be one of gauge, counter")
    assert await stored(client, key.tenant_id) == [("good", {}, [(t, 2.0)])]


@pytest.mark.parametrize("labels", [["abc"], "ab", 5, True])
async def test_compact_form_with_labels_not_an_object_refuses_its_values(
    client: httpx.AsyncClient, factory: Factory, labels: Any
) -> None:
    """Found by schemathesis: shared labels that were not an object answered 500."""
    key = await factory.api_key(Role.developer)
    good = {"name": "good", "value": 2, "timestamp": now_ms()}
    body = {"samples": [good], "labels": labels, "values": {"m": 1, "n": 2}}
    response = await client.post(URL, json=body, headers=key.headers)
    assert response.status_code == 200, response.text
    message = "labels must be an object of strings"
    assert response.json() == {
        "accepted": 1,
        "rejected": 2,
        "errors": [
            {"index": 1, "field": "labels", "message": message},
            {"index": 2, "field": "labels", "message": message},
        ],
    }


async def test_timestamps_too_far_ahead_or_older_than_retention(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    t = now_ms()
    samples = [
        {"name": "m", "value": 1, "timestamp": t + 9 * 60_000},
        {"name": "m", "value": 2, "timestamp": t + 11 * 60_000},
        {"name": "m", "value": 3, "timestamp": t - 29 * 86_400_000},
        {"name": "m", "value": 4, "timestamp": t - 31 * 86_400_000},
    ]
    response = await client.post(URL, json={"samples": samples}, headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == [
        {"index": 1, "field": "timestamp", "message": "timestamp is more than 600 s in the future"},
        {
            "index": 3,
            "field": "timestamp",
            "message": "timestamp is older than the retention of 30 days",
        },
    ]
    [(_, _, points)] = await stored(client, key.tenant_id)
    assert sorted(v for _, v in points) == [1.0, 3.0]


async def test_nothing_valid_is_400_and_nothing_written(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    body = {
        "samples": [
            {"name": "bad name", "value": 1, "type": "gauge"},
            {"name": "m", "value": "NaN", "type": "gauge"},
        ]
    }
    response = await client.post(URL, json=body, headers=key.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "/problems/no-valid-samples"
    assert (problem["accepted"], problem["rejected"]) == (0, 2)
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        ([0, "name"], "invalid-sample"),
        ([1, "value"], "invalid-sample"),
    ]
    assert await stored(client, key.tenant_id) == []
    assert (
        await session.scalars(
            select(MetricMetadata).where(MetricMetadata.tenant_id == key.tenant_id)
        )
    ).all() == []


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b"{}", "the body needs 'samples' or 'values'"),
        (b'{"samples": 3}', "'samples' must be a list"),
    ],
)
async def test_malformed_bodies_are_400_malformed_json(
    client: httpx.AsyncClient, factory: Factory, content: bytes, detail: str
) -> None:
    key = await factory.api_key(Role.developer)
    response = await client.post(
        URL, content=content, headers={**key.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/malformed-json"
    assert response.json()["detail"].startswith(detail)
    assert await stored(client, key.tenant_id) == []


async def test_more_samples_than_the_limit_is_413(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(tsdb={"max_batch_samples": 3})
    key = await factory.api_key(Role.developer)
    samples = [{"name": "m", "value": i} for i in range(3)]
    response = await client.post(
        URL,
        json={"samples": samples, "values": {"x": 1}},
        headers=key.headers,
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert response.json()["detail"] == "the batch has 4 samples; the limit is 3"
    assert await stored(client, key.tenant_id) == []
    ok = await client.post(URL, json={"samples": samples}, headers=key.headers)
    assert ok.status_code == 200


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
async def test_compressed_bodies(
    client: httpx.AsyncClient, factory: Factory, encoding: str
) -> None:
    key = await factory.api_key(Role.developer)
    t = now_ms()
    raw = orjson.dumps(
        {"samples": [{"name": "m", "value": i, "timestamp": t + i} for i in range(5)]}
    )
    content = gzip.compress(raw) if encoding == "gzip" else zstandard.compress(raw)
    response = await client.post(
        URL,
        content=content,
        headers={**key.headers, "Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 5
    assert await stored(client, key.tenant_id) == [("m", {}, [(t + i, float(i)) for i in range(5)])]


async def test_unknown_or_corrupt_encoding(client: httpx.AsyncClient, factory: Factory) -> None:
    key = await factory.api_key(Role.developer)
    headers = {**key.headers, "Content-Type": "application/json"}
    response = await client.post(URL, content=b"xx", headers={**headers, "Content-Encoding": "br"})
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"
    response = await client.post(
        URL, content=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-body"
    assert await stored(client, key.tenant_id) == []


async def test_decompressed_body_over_the_limit_is_413(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(server={"max_body_bytes": 4096})
    key = await factory.api_key(Role.developer)
    raw = orjson.dumps({"samples": [{"name": "m", "value": 1, "labels": {"p": "x" * 8000}}]})
    response = await client.post(
        URL,
        content=gzip.compress(raw),
        headers={**key.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


async def test_series_cap_refuses_new_series_and_keeps_existing_ones(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(tsdb={"max_active_series": 3})
    key = await factory.api_key(Role.developer)
    t = now_ms()
    first = [{"name": "m", "value": 1, "timestamp": t, "labels": {"s": str(i)}} for i in range(3)]
    response = await client.post(URL, json={"samples": first}, headers=key.headers)
    assert response.json()["accepted"] == 3
    more = [
        {"name": "m", "value": 2, "timestamp": t + 1, "labels": {"s": "0"}},
        {"name": "m", "value": 2, "timestamp": t + 1, "labels": {"s": "new"}},
        {"name": "m", "value": 2, "timestamp": t + 1, "labels": {"s": "2"}},
    ]
    response = await client.post(URL, json={"samples": more}, headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 2,
        "rejected": 1,
        "errors": [
            {
                "index": 1,
                "field": "name",
                "message": "new series refused: "
                "the tenant has reached its limit of 3 active series",
            }
        ],
    }
    data = await stored(client, key.tenant_id)
    assert [(labels["s"], len(points)) for _, labels, points in data] == [
        ("0", 2),
        ("1", 1),
        ("2", 2),
    ]
    # Another tenant has its own cap.
    other = await factory.api_key(Role.developer)
    response = await client.post(URL, json={"samples": more}, headers=other.headers)
    assert response.json()["accepted"] == 3


async def test_tenant_isolation(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant_a = await factory.tenant()
    key_a = await factory.api_key(Role.developer, tenant_a)
    key_b = await factory.api_key(Role.developer)
    agent = await make_agent(session, tenant_a.id, "shared-name")
    t = now_ms()
    body = {"agent": "shared-name", "timestamp": t, "values": {"m": 1}}
    response = await client.post(URL, json=body, headers=key_b.headers)
    assert response.status_code == 200
    assert await stored(client, key_b.tenant_id) == [("m", {"agent": "shared-name"}, [(t, 1.0)])]
    assert await stored(client, key_a.tenant_id) == []
    # Tenant B's report did not mark tenant A's agent as seen.
    row = await session.scalar(
        select(Agent).where(Agent.id == agent.id).execution_options(populate_existing=True)
    )
    assert row is not None and row.last_seen_at is None


async def test_viewer_cannot_ingest_and_anonymous_is_401(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    viewer = await factory.api_key(Role.viewer)
    body = {"samples": [{"name": "m", "value": 1}]}
    response = await client.post(URL, json=body, headers=viewer.headers)
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert (await client.post(URL, json=body)).status_code == 401
    assert await stored(client, viewer.tenant_id) == []


async def test_user_tokens_of_developers_may_ingest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user(Role.developer)
    response = await client.post(
        URL, json={"samples": [{"name": "m", "value": 1}]}, headers=user.headers
    )
    assert response.status_code == 200
    assert len(await stored(client, user.tenant_id)) == 1


async def test_ingest_counters_on_metrics(client: httpx.AsyncClient, factory: Factory) -> None:
    key = await factory.api_key(Role.developer)
    body = {"samples": [{"name": "m", "value": 1}, {"name": "m", "value": "NaN"}]}
    assert (await client.post(URL, json=body, headers=key.headers)).status_code == 200
    text = (await client.get("/metrics")).text
    assert "agentdeck_ingested_samples_total 1.0" in text
    assert 'agentdeck_rejected_samples_total{reason="invalid_value"} 1.0' in text


async def test_names_of_a_mebibyte_are_refused_with_short_answers_and_the_rest_kept(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    t = now_ms()
    huge = "n" * (1 << 20)
    samples = [
        {"name": huge, "value": 1, "timestamp": t, "type": "gauge", "help": "too long"},
        {"name": "m", "value": 2, "timestamp": t, "labels": {huge: "v"}},
        {"name": "m", "value": 3, "timestamp": t, "labels": {"a": "é" * (1 << 19)}},
        {"name": "m" * 255, "value": 4, "timestamp": t, "labels": {"l" * 255: "v" * 2048}},
    ]
    response = await client.post(URL, json={"samples": samples}, headers=key.headers)
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) < 1000  # no name is echoed back in full
    assert response.json() == {
        "accepted": 1,
        "rejected": 3,
        "errors": [
            {
                "index": 0,
                "field": "name",
                "message": "metric name is 1048576 bytes; the limit is 255",
            },
            {
                "index": 1,
                "field": "labels." + "n" * 64 + "…",
                "message": "label name is 1048576 bytes; the limit is 255",
            },
            {
                "index": 2,
                "field": "labels.a",
                "message": "label value is 1048576 bytes; the limit is 2048",
            },
        ],
    }
    assert await stored(client, key.tenant_id) == [("m" * 255, {"l" * 255: "v" * 2048}, [(t, 4.0)])]
    assert (
        await session.scalars(
            select(MetricMetadata.name).where(MetricMetadata.tenant_id == key.tenant_id)
        )
    ).all() == []


async def test_name_limits_are_settings(app_factory: AppFactory, factory: Factory) -> None:
    client = await app_factory(tsdb={"max_metric_name_bytes": 8, "max_label_name_bytes": 4})
    key = await factory.api_key(Role.developer)
    t = now_ms()
    samples = [
        {"name": "abcdefgh", "value": 1, "timestamp": t, "labels": {"abcd": "x"}},
        {"name": "abcdefghi", "value": 1, "timestamp": t},
        {"name": "m", "value": 1, "timestamp": t, "labels": {"abcde": "x"}},
    ]
    response = await client.post(URL, json={"samples": samples}, headers=key.headers)
    assert response.status_code == 200, response.text
    assert [(e["index"], e["message"]) for e in response.json()["errors"]] == [
        (1, "metric name is 9 bytes; the limit is 8"),
        (2, "label name is 5 bytes; the limit is 4"),
    ]


async def test_a_body_that_is_not_utf8_is_400_problem_json(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    headers = {**key.headers, "Content-Type": "application/json"}
    bodies = [
        b'{"samples":[{"name":"m\xff","value":1}]}',
        b'{"samples":[{"name":"m","value":1,"labels":{"a":"\xff"}}]}',
        b"\xff\xfe{}",
        '{"samples":[{"name":"m","value":1}]}'.encode("utf-16"),
    ]
    for body in bodies:
        response = await client.post(URL, content=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/malformed-json"
        assert problem["detail"].startswith("the body is not valid JSON")
    assert await stored(client, key.tenant_id) == []


async def test_a_large_body_that_is_not_utf8_is_400_in_a_decode_worker_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    decoders = client.app.state.deck.decoders  # type: ignore[attr-defined]
    await decoders.start()
    assert decoders.pids  # the body below goes to a worker process
    samples = [{"name": f"m_{i % 7}", "value": i, "labels": {"a": "b"}} for i in range(5_000)]
    body = orjson.dumps({"samples": samples}).replace(b'"m_3"', b'"m_\xff"', 1)
    assert len(body) >= 64 * 1024
    response = await client.post(
        URL, content=body, headers={**key.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "/problems/malformed-json"
    assert (decoders.stats.in_workers, decoders.stats.worker_failures) == (1, 0)
    assert await stored(client, key.tenant_id) == []


async def test_an_infinite_number_or_a_lone_surrogate_refuses_only_its_sample(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    agent = await make_agent(session, key.tenant_id, "bot")
    t = now_ms()
    body = (
        b'{"samples":['
        + f'{{"name":"good","value":1,"timestamp":{t},"labels":{{"agent":"bot"}}}},'.encode()
        + b'{"name":"m","value":1e400},'
        + b'{"name":"m","value":-1'
        + b"0" * 400
        + b"},"
        + b'{"name":"m\\ud800","value":1},'
        + b'{"name":"m","value":1,"labels":{"a\\udfff":"x"}},'
        + b'{"name":"m","value":1,"labels":{"agent":"\\ud800"}},'
        + b'{"name":"m","value":1,"help":"\\udc00"}'
        + b'],"values":{"x":1e999}}'
    )
    response = await client.post(
        URL, content=body, headers={**key.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 1,
        "rejected": 7,
        "errors": [
            {"index": 1, "field": "value", "message": "value must be a finite number"},
            {"index": 2, "field": "value", "message": "value must be a finite number"},
            {
                "index": 3,
                "field": "name",
                "message": "metric name 'm\\ud800' does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
            },
            {
                "index": 4,
                "field": "labels.a\\udfff",
                "message": "label name 'a\\udfff' does not match [a-zA-Z_][a-zA-Z0-9_]*",
            },
            {
                "index": 5,
                "field": "labels.agent",
                "message": "label value is not valid Unicode (it holds a lone UTF-16 surrogate)",
            },
            {
                "index": 6,
                "field": "help",
                "message": "help is not valid Unicode (it holds a lone UTF-16 surrogate)",
            },
            {"index": 7, "field": "value", "message": "value must be a finite number"},
        ],
    }
    assert await stored(client, key.tenant_id) == [("good", {"agent": "bot"}, [(t, 1.0)])]
    await session.refresh(agent)
    assert agent.last_seen_at is not None
