"""The SDK against a real running server: metric kinds, retries, the bounded buffer."""

from __future__ import annotations

import uuid

import pytest

from agentdeck_sdk import AsyncClient, Backoff, Client
from agentdeck_sdk._core import parse_retry_after
from tests.sdk.conftest import LiveServer

FAST = Backoff(base=0.02, cap=0.1)


def test_gauge_counter_histogram_timer_and_llm_calls(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    live_server.start()
    with Client(live_server.url, api_key, agent="planner", flush_interval=60) as client:
        client.gauge("queue_depth", 3, labels={"queue": "in"})
        client.counter("jobs_total")
        client.counter("jobs_total", 2)
        client.histogram("step_seconds", 0.3, buckets=(0.1, 0.5, 1))
        client.histogram("step_seconds", 0.05, buckets=(0.1, 0.5, 1))
        with client.timer("block_seconds", buckets=(60,)):
            pass
        client.record_llm_call("gpt-x", tokens_in=100, tokens_out=20, latency=1.5, cost=0.01)
        assert client.flush(timeout=10)
        assert client.dropped_samples == 0 and client.rejected_samples == 0
    got = live_server.series(tenant)
    agent = (("agent", "planner"),)
    assert got[("queue_depth", (("agent", "planner"), ("queue", "in")))] == [3.0]
    assert got[("jobs_total", agent)] == [3.0]
    buckets = {
        dict(labels)["le"]: values
        for (name, labels), values in got.items()
        if name == "step_seconds_bucket"
    }
    assert buckets == {"0.1": [1.0], "0.5": [2.0], "1.0": [2.0], "+Inf": [2.0]}
    assert got[("step_seconds_count", agent)] == [2.0]
    assert got[("step_seconds_sum", agent)] == [pytest.approx(0.35)]
    assert got[("block_seconds_count", agent)] == [1.0]
    model = ("gen_ai_request_model", "gpt-x")
    genai = (("agent", "planner"), ("gen_ai_operation_name", "chat"), model)
    assert got[("gen_ai_client_operation_duration_seconds_sum", genai)] == [1.5]
    assert got[("gen_ai_client_token_usage_sum", (*genai, ("gen_ai_token_type", "input")))] == [
        100.0
    ]
    assert got[("agent_tokens_total", (("agent", "planner"), ("type", "output")))] == [20.0]
    assert got[("agent_cost_usd_total", (("agent", "planner"), model))] == [0.01]


def test_counters_are_cumulative_across_flushes(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    live_server.start()
    with Client(live_server.url, api_key, flush_interval=60) as client:
        client.counter("calls_total", 2)
        assert client.flush()
        client.counter("calls_total", 5)
        assert client.flush()
        assert client.sent_samples == 2
    assert live_server.series(tenant)[("calls_total", ())] == [2.0, 7.0]


def test_retries_until_the_server_comes_back(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    # No server yet: sends fail with connection errors and are retried with backoff.
    client = Client(live_server.url, api_key, flush_interval=0.05, backoff=FAST)
    try:
        for i in range(5):
            client.gauge("up_while_down", i)
        assert not client.flush(timeout=0.3)
        live_server.start()
        assert client.flush(timeout=20)
        assert client.dropped_samples == 0
        assert client.sent_samples == 5
    finally:
        client.close()
    assert live_server.series(tenant)[("up_while_down", ())] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_full_buffer_drops_the_oldest_and_counts_them(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    client = Client(live_server.url, api_key, flush_interval=60, max_buffer=10, backoff=FAST)
    try:
        for i in range(25):
            client.gauge("g", i)
        assert client.dropped_samples == 15
        live_server.start()
        assert client.flush(timeout=20)
    finally:
        client.close()
    assert live_server.series(tenant)[("g", ())] == [float(i) for i in range(15, 25)]


def test_invalid_samples_are_counted_as_rejected_not_retried(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    live_server.start()
    with Client(live_server.url, api_key, flush_interval=60) as client:
        client.gauge("bad name", 1)
        client.gauge("good", 1)
        assert client.flush()
        assert (client.sent_samples, client.rejected_samples) == (1, 1)
        client.gauge("also bad", 1)
        assert client.flush()  # a 400 is not retried
        assert client.rejected_samples == 2
    assert list(live_server.series(tenant)) == [("good", ())]


def test_close_flushes_what_is_left(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    live_server.start()
    client = Client(live_server.url, api_key, agent="a", flush_interval=60)
    client.gauge("last_words", 42)
    client.close()
    client.close()  # idempotent
    assert live_server.series(tenant)[("last_words", (("agent", "a"),))] == [42.0]


async def test_async_client(live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]) -> None:
    api_key, tenant = sdk_key
    live_server.start()
    async with AsyncClient(live_server.url, api_key, agent="x", flush_interval=60) as client:
        client.gauge("async_gauge", 1.5)
        client.counter("async_total", 4)
        with client.timer("async_seconds"):
            pass
        assert await client.flush()
        client.gauge("async_gauge", 2.5)
    got = live_server.series(tenant)
    assert got[("async_gauge", (("agent", "x"),))] == [1.5, 2.5]
    assert got[("async_total", (("agent", "x"),))] == [4.0]
    assert got[("async_seconds_count", (("agent", "x"),))] == [1.0]


async def test_async_client_retries_until_the_server_comes_back(
    live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    api_key, tenant = sdk_key
    client = AsyncClient(live_server.url, api_key, flush_interval=0.05, backoff=FAST)
    try:
        client.gauge("late", 1)
        assert not await client.flush(timeout=0.3)
        live_server.start()
        assert await client.flush(timeout=20)
    finally:
        await client.aclose()
    assert live_server.series(tenant)[("late", ())] == [1.0]


def test_retry_after_and_backoff() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    backoff = Backoff(base=1, cap=8)
    assert backoff.delay(0, "2") == 2.0
    for attempt in range(10):
        assert 0 <= backoff.delay(attempt) <= min(8, 2**attempt)


def test_counters_only_go_up(live_server: LiveServer) -> None:
    client = Client(live_server.url, "adk_x", flush_interval=60, close_timeout=0.1)
    try:
        with pytest.raises(ValueError, match="only goes up"):
            client.counter("c_total", -1)
    finally:
        client.close()
