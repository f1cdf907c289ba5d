"""An anomaly that raises no alert is stored in one statement with the batch's others: it
carries everything an alerting one does (evidence lines, window, stream, counts)."""

from __future__ import annotations

import pytest

from tests.conftest import Factory
from tests.logintel.conftest import create_stream, round_trip
from tests.logintel.test_anomalies_api import anomalies, log_alerts, spike
from tests.logs.conftest import AppFactory, Deck, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


async def test_a_medium_anomaly_has_its_evidence_lines_and_window(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(3))  # 15 %: medium, no alert
    assert await round_trip(deck) == (1, 1)
    [anomaly] = await anomalies(deck)
    assert anomaly["anomaly_type"] == "error_spike" and anomaly["severity"] == "medium"
    assert anomaly["detector"] == "error_spike" and anomaly["recommended_actions"]
    assert anomaly["window_start"] <= anomaly["window_end"]
    assert anomaly["prompt_tokens"] == anomaly["completion_tokens"] == 0
    assert anomaly["description"] == "High error rate: 15.0% (3/20 lines)"
    assert anomaly["confidence_score"] == 0.8
    assert anomaly["service"] == "checkout" and anomaly["stream"] == "main"
    assert anomaly["evidence_count"] == 3 and len(anomaly["evidence"]["line_ids"]) == 3
    assert anomaly["alert_id"] is None
    detail = await deck.api.get(
        f"/api/v1/anomalies/{anomaly['anomaly_id']}", headers=deck.viewer.headers
    )
    assert detail.status_code == 200, detail.text
    lines = detail.json()["lines"]
    assert [line["id"] for line in lines] == anomaly["evidence"]["line_ids"]
    assert [line["message"] for line in lines] == [
        f"payment {i} refused by gateway" for i in range(3)
    ]
    assert {line["severity"] for line in lines} == {"ERROR"}
    batch = await deck.api.get(
        f"/api/v1/log-batches/{anomaly['batch_id']}", headers=deck.viewer.headers
    )
    assert batch.json()["anomalies"] == 1 and batch.json()["status"] == "completed"
    assert await log_alerts(deck) == []
