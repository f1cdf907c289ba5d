"""``POST /api/v1/write``: remote write 1.0 bodies, bad input, auth and tenants."""

from __future__ import annotations

import uuid

import cramjam
import httpx

from agentdeck.identity.roles import Role
from agentdeck.ingest.decoders import remote_write
from agentdeck.tsdb.base import Matcher, MatchOp
from tests.conftest import Factory
from tests.ingest.otlp_support import T0_MS
from tests.ingest.test_remote_write_decode import STALE, write_request

HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
T = T0_MS


async def read(
    client: httpx.AsyncClient, tenant_id: uuid.UUID
) -> list[tuple[str, dict[str, str], list[tuple[int, float]]]]:
    store = client.app.state.deck.store  # type: ignore[attr-defined]
    await store.flush()
    series = await store.select(tenant_id, [Matcher("__name__", MatchOp.re, ".+")], 0, 10**13)
    return [
        (s.name, s.labels, list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True)))
        for s in series
    ]


def body(*series: tuple[dict[str, str], list[tuple[float, int]]]) -> bytes:
    return remote_write.encode(write_request(series))


async def test_write_stores_samples_and_answers_204(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    payload = body(
        ({"__name__": "up", "job": "node", "instance": "a:9100"}, [(1.0, T), (1.0, T + 15_000)]),
        ({"__name__": "node_load1", "instance": "a:9100"}, [(0.5, T), (STALE, T + 15_000)]),
    )
    response = await client.post(
        "/api/v1/write", content=payload, headers={**key.headers, **HEADERS}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await read(client, key.tenant_id) == [
        ("node_load1", {"instance": "a:9100"}, [(T, 0.5)]),
        ("up", {"instance": "a:9100", "job": "node"}, [(T, 1.0), (T + 15_000, 1.0)]),
    ]


async def test_bad_samples_are_400_and_good_ones_kept(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    payload = body(
        ({"__name__": "good", "a": "b"}, [(1.0, T)]),
        ({"__name__": "bad", "__bad": "x"}, [(2.0, T)]),
        ({"job": "nameless"}, [(3.0, T)]),
    )
    response = await client.post(
        "/api/v1/write", content=payload, headers={**key.headers, **HEADERS}
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "/problems/samples-rejected"
    assert problem["detail"].startswith("2 samples rejected")
    assert "sample 2: the series has no __name__ label" in problem["detail"]
    assert "sample 1 (bad): label name '__bad' starts with '__'" in problem["detail"]
    assert await read(client, key.tenant_id) == [("good", {"a": "b"}, [(T, 1.0)])]


async def test_names_over_the_limits_are_refused_and_the_answer_stays_short(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    payload = body(
        ({"__name__": "good"}, [(1.0, T)]),
        ({"__name__": "n" * (1 << 20)}, [(2.0, T)]),
        ({"__name__": "m", "l" * (1 << 20): "x"}, [(3.0, T)]),
    )
    response = await client.post(
        "/api/v1/write", content=payload, headers={**key.headers, **HEADERS}
    )
    assert response.status_code == 400
    assert len(response.content) < 2000
    detail = response.json()["detail"]
    assert "sample 1 (" + "n" * 64 + "…): metric name is 1048576 bytes; the limit is 255" in detail
    assert "sample 2 (m): label name is 1048576 bytes; the limit is 255" in detail
    assert await read(client, key.tenant_id) == [("good", {}, [(T, 1.0)])]


async def test_malformed_bodies_are_400_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    not_protobuf = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff"))
    for payload in (b"\xff\xfe not snappy", not_protobuf):
        response = await client.post(
            "/api/v1/write", content=payload, headers={**key.headers, **HEADERS}
        )
        assert response.status_code == 400
        assert response.json()["type"] == "/problems/malformed-body"
    response = await client.post(
        "/api/v1/write",
        content=body(({"__name__": "x"}, [(1.0, T)])),
        headers={
            **key.headers,
            **HEADERS,
            "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        },
    )
    assert response.status_code == 415
    assert await read(client, key.tenant_id) == []


async def test_tenant_isolation_and_auth(client: httpx.AsyncClient, factory: Factory) -> None:
    a = await factory.api_key(Role.developer)
    b = await factory.api_key(Role.developer)
    viewer = await factory.api_key(Role.viewer, None)
    payload = body(({"__name__": "m"}, [(1.0, T)]))
    assert (
        await client.post("/api/v1/write", content=payload, headers={**a.headers, **HEADERS})
    ).status_code == 204
    assert await read(client, b.tenant_id) == []
    assert await read(client, a.tenant_id) == [("m", {}, [(T, 1.0)])]
    response = await client.post(
        "/api/v1/write", content=payload, headers={**viewer.headers, **HEADERS}
    )
    assert response.status_code == 403
    response = await client.post("/api/v1/write", content=payload, headers=HEADERS)
    assert response.status_code == 401
    assert await read(client, viewer.tenant_id) == []
