"""With ``llm.base_url`` set, the server's batch processing asks the LLM about every closed
batch after the rule detectors: its anomaly is stored with the explanation and actions, the
personal data masked on the way out and restored on the way back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agentdeck.logintel.streams.loops import LogBatchLoop, StreamFlushLoop
from agentdeck.loops.runner import LoopRunner
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream
from tests.logintel.llm_server import LLMServer, Reply, anomalies_json, llm_server
from tests.logs.conftest import AppFactory, entry, make_deck


@pytest.fixture
async def server() -> AsyncIterator[LLMServer]:
    async with llm_server() as running:
        yield running


async def test_a_closed_batch_gets_the_llms_anomaly(
    app_factory: AppFactory, factory: Factory, server: LLMServer
) -> None:
    deck = await make_deck(
        app_factory,
        factory,
        loops={"enabled": False},
        llm={"base_url": server.url, "model": "test-model", "timeout_seconds": 10},
    )
    finding: dict[str, Any] = {
        "anomaly_type": "security_incident",
        "severity": "medium",
        "service": "api",
        "description": "Logins refused for <EMAIL_1>",
        "explanation": "<EMAIL_1> was refused 10 times in a row.",
        "confidence": 0.75,
        "recommended_actions": ["Check the account of <EMAIL_1>"],
    }
    server.script(Reply(content=anomalies_json(finding)))
    state = app_state(deck)
    assert state.log_streams is not None and state.log_batcher is not None
    batches = LogBatchLoop(batcher=state.log_batcher, interval=600)
    flush = StreamFlushLoop(
        buffers=state.log_streams, sessions=state.sessions, interval=600, after_flush=batches.wake
    )
    flush.initial_delay = None  # no refresh of the stream list racing the stream created below
    runner = LoopRunner([flush, batches], sessions=state.sessions, registry=CollectorRegistry())
    runner.start()
    try:
        await create_stream(deck, batch_size=10)
        lines = [
            entry(f"login refused for carol@example.com attempt {i}", severity="WARNING")
            for i in range(10)
        ]
        await deck.batch(lines)

        async def llm_anomaly() -> dict[str, Any]:
            while True:
                page = await deck.api.get("/api/v1/anomalies", headers=deck.viewer.headers)
                found = [a for a in page.json()["items"] if a["detector"] == "llm"]
                if found:
                    return found[0]
                await asyncio.sleep(0.05)  # polling the API for the processed batch

        anomaly = await asyncio.wait_for(llm_anomaly(), timeout=30)
    finally:
        await runner.stop()
    [request] = server.requests
    sent = "\n".join(m["content"] for m in request["messages"])
    assert "carol@example.com" not in sent and "<EMAIL_1>" in sent
    assert anomaly["anomaly_type"] == "security_incident"
    assert anomaly["description"] == "Logins refused for carol@example.com"
    assert anomaly["explanation"] == "carol@example.com was refused 10 times in a row."
    assert anomaly["recommended_actions"] == ["Check the account of carol@example.com"]
