"""What every drill checks: /readyz until a verdict, and the refusal a client gets while a
component is down (503 problem+json with Retry-After, naming the kind of outage)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

DEADLINE_S = 30.0


async def readyz_until(
    client: httpx.AsyncClient, status: int, deadline_s: float = DEADLINE_S
) -> httpx.Response:
    """Probe until /readyz answers ``status`` (verdicts are cached for a second)."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = await client.get("/readyz")
        if response.status_code == status:
            return response
        assert time.monotonic() < deadline, f"/readyz still {response.status_code}: {response.text}"
        await asyncio.sleep(0.05)  # polling a probe against a deadline


#: What a detail must not show: a URL, an absolute file path, an IP address, localhost.
INTERNALS = re.compile(r"://|(?:^|[\s\"'(=])/[\w.-]+/|\b\d{1,3}(?:\.\d{1,3}){3}\b|localhost")


def assert_unavailable(response: httpx.Response, kind: str, *hidden: str) -> None:
    """A refusal that tells the client to come back: nothing of the request was kept. Its
    detail names no internals: no URL, path or host:port, and none of ``hidden`` (the store's
    file, URL or host)."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.headers
    assert int(response.headers["retry-after"]) >= 1, response.headers
    body = response.json()
    assert body["type"] == f"/problems/{kind}", body
    assert body["status"] == 503
    detail = body.get("detail", "")
    assert not INTERNALS.search(detail), detail
    for secret in hidden:
        assert secret not in response.text, (secret, response.text)


def metric_batch(name: str, value: float, **labels: str) -> dict[str, Any]:
    return {"samples": [{"name": name, "value": value, "labels": {"agent": "drill", **labels}}]}


async def stored_values(
    client: httpx.AsyncClient, headers: dict[str, str], name: str
) -> list[float]:
    """Every stored sample of metric ``name`` in the last hour (the raw-sample API), oldest
    first."""
    values: list[tuple[int, float]] = []
    params: dict[str, Any] = {"name": name, "limit": 500}
    while True:
        answer = await client.get("/api/v1/metrics", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        values += [(item["ts_ms"], item["value"]) for item in page["items"]]
        if not page.get("next_cursor"):
            return [v for _, v in sorted(values)]
        params["cursor"] = page["next_cursor"]


async def assert_stored(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, expected: list[float]
) -> None:
    """The stored samples of ``name`` become ``expected`` (VictoriaMetrics makes a write
    searchable within about a second of acknowledging it)."""
    deadline = time.monotonic() + DEADLINE_S
    while (found := await stored_values(client, headers, name)) != expected:
        assert time.monotonic() < deadline, f"stored {found}, expected {expected}"
        await asyncio.sleep(0.1)  # polling the store's read-after-write delay
