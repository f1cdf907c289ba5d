"""Operations endpoints and the error envelope."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics_parse_as_prometheus_exposition(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["agentdeck_http_requests"]
    labels = [s.labels for s in requests.samples if s.name == "agentdeck_http_requests_total"]
    assert {"method": "GET", "route": "/healthz", "status": "200"} in labels
    assert "agentdeck_http_request_duration_seconds" in families
    assert "agentdeck_build_info" in families


async def test_unknown_api_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/does-not-exist", json={})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-found"
    assert body["status"] == 404
    assert body["request_id"] == response.headers["x-request-id"]


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_info_keeps_each_feature_s_type(app_factory: AppFactory) -> None:
    client = await app_factory(features={"demo_interval_seconds": 2.5, "signup": True})
    response = await client.get("/api/v1/info")
    assert response.status_code == 200
    features = response.json()["features"]
    assert features == {"signup": True, "demo": False, "demo_interval_seconds": 2.5}
