"""A template agent's telemetry reaches a real agentdeck server and its PromQL API."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import httpx

from tests.fleet.templates.conftest import Process
from tests.sdk.conftest import LiveServer

COST_IN, COST_OUT = 3.0, 15.0  # dollars per million tokens


def query(server: LiveServer, key: str, promql: str) -> dict[str, float]:
    """``{replica label: value}`` of an instant query."""
    response = httpx.get(
        server.url + "/api/v1/query", params={"query": promql}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    return {
        r["metric"].get("replica", ""): float(r["value"][1])
        for r in response.json()["data"]["result"]
    }


def eventually(server: LiveServer, key: str, promql: str, want: Callable[[float], bool]) -> float:
    """Poll ``promql`` (one series) until ``want`` holds for its value, within 20 s."""
    deadline = time.monotonic() + 20
    seen: dict[str, float] = {}
    while time.monotonic() < deadline:
        seen = query(server, key, promql)
        if len(seen) == 1 and want(next(iter(seen.values()))):
            return next(iter(seen.values()))
        time.sleep(0.1)  # polling the store, not synchronising on a guess
    raise AssertionError(f"{promql}: {seen}")


def test_requests_errors_tokens_cost_cpu_and_memory_arrive(
    live_server: LiveServer,
    tenant_key: tuple[str, uuid.UUID],
    processes: Callable[..., Process],
    echo: Process,
) -> None:
    key, _ = tenant_key
    live_server.start()
    config = {
        "llm": {
            "base_url": echo.url + "/v1",
            "model": "echo-test",
            "input_cost_per_million": COST_IN,
            "output_cost_per_million": COST_OUT,
        },
        "labels": ["positive", "negative"],
        "telemetry": {"interval_seconds": 0.2},
    }
    agent = processes(
        "run",
        "--template",
        "classifier",
        "--config",
        json.dumps(config),
        env={
            "AGENTDECK_URL": live_server.url,
            "AGENTDECK_API_KEY": key,
            "AGENTDECK_AGENT_NAME": "sorter",
            "AGENTDECK_REPLICA": "r-1",
        },
    )
    assert httpx.get(agent.url + "/healthz").json()["telemetry"] is True
    good = [
        httpx.post(agent.url + "/invoke", json={"text": text}).json()
        for text in ("a positive note", "so negative, really")
    ]
    assert [g["label"] for g in good] == ["positive", "negative"]
    bad = httpx.post(agent.url + "/invoke", json={"text": "no label named here"})
    assert bad.status_code == 502
    invalid = httpx.post(agent.url + "/invoke", json={"txt": "x"})
    assert invalid.status_code == 422  # a request, not an error of the agent

    sel = '{agent="sorter"}'
    assert eventually(live_server, key, f"agent_requests_total{sel}", lambda v: v == 4) == 4
    assert eventually(live_server, key, f"agent_errors_total{sel}", lambda v: v == 1) == 1
    assert (
        eventually(live_server, key, f"agent_request_duration_seconds_count{sel}", lambda v: v == 4)
        == 4
    )
    # Three LLM calls: two good answers and the one that named no label (its tokens count too).
    target = f'{{agent="sorter",target="127.0.0.1:{echo.port}"}}'
    assert eventually(live_server, key, f"agent_calls_total{target}", lambda v: v == 3) == 3
    assert not query(live_server, key, f"agent_call_errors_total{sel}")
    out_tokens = sum(g["usage"]["completion_tokens"] for g in good) + 5  # the echo of 19 chars
    assert (
        eventually(
            live_server,
            key,
            'agent_tokens_total{agent="sorter",type="output"}',
            lambda v: v == out_tokens,
        )
        == out_tokens
    )
    good_in = sum(g["usage"]["prompt_tokens"] for g in good)
    tokens_in = eventually(
        live_server, key, 'agent_tokens_total{agent="sorter",type="input"}', lambda v: v > good_in
    )
    cost = eventually(live_server, key, f"agent_cost_usd_total{sel}", lambda v: v > 0)
    assert abs(cost - (tokens_in * COST_IN + out_tokens * COST_OUT) / 1e6) < 1e-9
    model = eventually(
        live_server,
        key,
        'gen_ai_client_operation_duration_seconds_count{agent="sorter",gen_ai_request_model="echo-test"}',
        lambda v: v == 3,
    )
    assert model == 3

    assert eventually(live_server, key, f"agent_cpu_percent{sel}", lambda v: v >= 0) >= 0
    memory = eventually(live_server, key, f"agent_memory_percent{sel}", lambda v: v > 0)
    assert 0 < memory <= 100
    rss = eventually(live_server, key, f"process_resident_memory_bytes{sel}", lambda v: v > 0)
    assert rss > 10 * 1024 * 1024  # a Python process with FastAPI loaded
    assert set(query(live_server, key, f"agent_requests_total{sel}")) == {"r-1"}
    assert agent.stop()
