"""Anomalies over HTTP, the alerts severe ones raise, analysers beside the rules, /metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agentdeck.db.base import utcnow
from agentdeck.identity.roles import Role
from agentdeck.logintel.analysis import (
    AnalysisResult,
    AnomalyDraft,
    AnomalySeverity,
    AnomalyType,
    BatchContext,
)
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream, round_trip
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def spike(errors: int, total: int = 20, service: str = "checkout") -> list[dict[str, Any]]:
    out = [
        entry(f"payment {i} refused by gateway", severity="ERROR", service=service)
        for i in range(errors)
    ]
    out += [entry(f"cart {i} updated", service=service) for i in range(total - errors)]
    return out


async def anomalies(deck: Deck, **params: Any) -> Any:
    response = await deck.api.get("/api/v1/anomalies", params=params, headers=deck.viewer.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def log_alerts(deck: Deck) -> list[dict[str, Any]]:
    response = await deck.api.get(
        "/api/v1/alerts", params={"source": "logs"}, headers=deck.viewer.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_high_error_spike_is_an_anomaly_with_evidence_and_one_alert(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))  # 35 %: high
    await round_trip(deck)
    [anomaly] = await anomalies(deck, type="error_spike")
    assert anomaly["severity"] == "high"
    assert anomaly["service"] == "checkout"
    assert anomaly["confidence_score"] == 0.8
    assert anomaly["evidence_count"] == 7
    assert anomaly["description"] == "High error rate: 35.0% (7/20 lines)"
    assert anomaly["detected_at"].endswith(("+00:00", "Z"))
    assert anomaly["stream"] == "main" and anomaly["batch_id"]
    assert len(anomaly["evidence"]["line_ids"]) == 7
    assert len(anomaly["evidence"]["template_ids"]) == 1
    assert anomaly["recommended_actions"]
    detail = await deck.api.get(
        f"/api/v1/anomalies/{anomaly['anomaly_id']}", headers=deck.viewer.headers
    )
    lines = detail.json()["lines"]
    assert [line["id"] for line in lines] == anomaly["evidence"]["line_ids"]
    assert lines[0]["message"] == "payment 0 refused by gateway"
    [alert] = await log_alerts(deck)
    assert alert["id"] == anomaly["alert_id"]
    assert alert["severity"] == "error"
    assert alert["labels"]["service"] == "checkout"
    assert alert["labels"]["anomaly_type"] == "error_spike"
    assert alert["labels"]["source"] == "logs"
    assert alert["annotations"]["anomaly_id"] == anomaly["anomaly_id"]
    assert alert["annotations"]["anomaly_url"].endswith(f"/anomalies/{anomaly['anomaly_id']}")


async def test_a_recurring_anomaly_updates_its_alert(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))
    await round_trip(deck)
    await deck.batch(spike(9))
    await round_trip(deck)
    found = await anomalies(deck, type="error_spike")
    assert len(found) == 2
    assert found[0]["alert_id"] == found[1]["alert_id"]
    [alert] = await log_alerts(deck)
    timeline = await deck.api.get(
        f"/api/v1/alerts/{alert['id']}/timeline", headers=deck.viewer.headers
    )
    kinds = [event["kind"] for event in timeline.json()["items"]]
    assert kinds.count("created") == 1 and kinds.count("recurred") == 1
    # another service's spike is another alert
    await deck.batch(spike(8, service="search"))
    await round_trip(deck)
    assert len(await log_alerts(deck)) == 2


async def test_medium_anomalies_raise_no_alert_by_default(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(3))  # 15 %: medium
    await round_trip(deck)
    [anomaly] = await anomalies(deck)
    assert anomaly["severity"] == "medium" and anomaly["alert_id"] is None
    assert await log_alerts(deck) == []


async def test_the_alert_threshold_is_a_setting(app_factory: AppFactory, factory: Factory) -> None:
    deck = await make_deck(
        app_factory,
        factory,
        loops={"enabled": False},
        logstreams={"alert_min_severity": "medium"},
    )
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(3))
    await round_trip(deck)
    [alert] = await log_alerts(deck)
    assert alert["severity"] == "warning"


async def test_filters_are_checked_and_severity_reads_any_case(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))
    await round_trip(deck)
    assert len(await anomalies(deck, severity="HIGH")) == 1
    assert await anomalies(deck, severity="low") == []
    assert len(await anomalies(deck, service="checkout")) == 1
    assert await anomalies(deck, service="nope") == []
    assert len(await anomalies(deck, since=(utcnow() - timedelta(minutes=5)).isoformat())) == 1
    assert await anomalies(deck, since=(utcnow() + timedelta(minutes=5)).isoformat()) == []
    for params, field in (
        ({"severity": "urgent"}, "severity"),
        ({"type": "meltdown"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
    ):
        response = await deck.api.get(
            "/api/v1/anomalies", params=params, headers=deck.viewer.headers
        )
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"][-1] == field
    bad = await deck.api.get(
        "/api/v1/anomalies", params={"severity": "urgent"}, headers=deck.viewer.headers
    )
    assert "low, medium, high, critical" in bad.json()["errors"][0]["message"]
    for path in (
        "/api/v1/anomalies/not-a-uuid",
        f"/api/v1/anomalies/{'0' * 8}-0000-0000-0000-{'0' * 12}",
    ):
        assert (await deck.api.get(path, headers=deck.viewer.headers)).status_code == 404


async def test_another_tenant_sees_none_of_them(deck: Deck, factory: Factory) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))
    await round_trip(deck)
    [anomaly] = await anomalies(deck)
    stranger = await factory.user(Role.viewer, await factory.tenant())
    listed = await deck.api.get("/api/v1/anomalies", headers=stranger.headers)
    assert listed.json()["items"] == []
    one = await deck.api.get(f"/api/v1/anomalies/{anomaly['anomaly_id']}", headers=stranger.headers)
    assert one.status_code == 404


class ScriptedAnalyzer:
    """An analyser answering from a script (stands in for an LLM endpoint's answers)."""

    name = "llm"

    def __init__(self, result: AnalysisResult) -> None:
        self.result = result
        self.seen: list[BatchContext] = []

    async def analyze(self, batch: BatchContext) -> AnalysisResult:
        self.seen.append(batch)
        return self.result


async def test_an_analyser_error_keeps_the_rule_anomalies(deck: Deck) -> None:
    analyser = ScriptedAnalyzer(AnalysisResult(error="timeout"))
    state = app_state(deck)
    assert state.log_batcher is not None
    state.log_batcher.processor.analyzers = [analyser]
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))
    await round_trip(deck)
    assert len(analyser.seen) == 1 and len(analyser.seen[0].lines) == 20
    assert analyser.seen[0].templates  # the template texts travel with the lines
    [batch] = (await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)).json()[
        "items"
    ]
    assert batch["status"] == "completed" and batch["error"] == "llm: timeout"
    assert [a["detector"] for a in await anomalies(deck)] == ["error_spike"]


async def test_an_analysers_explanation_actions_and_tokens_are_stored(deck: Deck) -> None:
    state = app_state(deck)
    assert state.log_batcher is not None
    draft = AnomalyDraft(
        anomaly_type=AnomalyType.SECURITY_INCIDENT,
        severity=AnomalySeverity.CRITICAL,
        service="checkout",
        description="Card testing attack",
        confidence=0.9,
        detector="llm",
        recommended_actions=("Block the client", "Rotate the gateway key"),
        explanation="Many small payments from one client were refused in a row.",
    )
    state.log_batcher.processor.analyzers = [
        ScriptedAnalyzer(AnalysisResult(drafts=(draft,), prompt_tokens=800, completion_tokens=90))
    ]
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(1))  # 5 %: no rule anomaly
    await round_trip(deck)
    [anomaly] = await anomalies(deck)
    assert anomaly["detector"] == "llm" and anomaly["severity"] == "critical"
    assert anomaly["explanation"].startswith("Many small payments")
    assert anomaly["recommended_actions"] == ["Block the client", "Rotate the gateway key"]
    assert (anomaly["prompt_tokens"], anomaly["completion_tokens"]) == (800, 90)
    [alert] = await log_alerts(deck)
    assert alert["severity"] == "critical"
    assert alert["annotations"]["description"].startswith("Many small payments")
    [batch] = (await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)).json()[
        "items"
    ]
    assert (batch["prompt_tokens"], batch["completion_tokens"]) == (800, 90)


async def test_cleanup_keeps_anomalies_whose_alert_is_unresolved(
    deck: Deck, factory: Factory
) -> None:
    admin = await factory.user(Role.admin, deck.tenant)
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))  # high: alert
    await round_trip(deck, now=utcnow() - timedelta(days=10))
    await deck.batch(spike(3))  # medium: no alert
    await round_trip(deck, now=utcnow() - timedelta(days=10))
    result = await deck.api.post(
        "/api/v1/log-batches/cleanup", params={"retention_days": 7}, headers=admin.headers
    )
    assert result.json() == {"retention_days": 7, "batches_deleted": 1, "anomalies_deleted": 1}
    [kept] = await anomalies(deck)
    assert kept["severity"] == "high"
    await deck.api.post(f"/api/v1/alerts/{kept['alert_id']}/resolve", headers=admin.headers)
    again = await deck.api.post(
        "/api/v1/log-batches/cleanup", params={"retention_days": 7}, headers=admin.headers
    )
    assert again.json()["anomalies_deleted"] == 1 and again.json()["batches_deleted"] == 1


async def test_metrics_count_lines_batches_anomalies_and_alerts(deck: Deck) -> None:
    await create_stream(deck, batch_size=20)
    await deck.batch(spike(7))
    await round_trip(deck)
    text = (await deck.api.get("/metrics")).text
    assert "agentdeck_log_lines_processed_total 20.0" in text
    assert 'agentdeck_log_batches_created_total{closed_by="size"} 1.0' in text
    assert (
        'agentdeck_log_anomalies_detected_total{detector="error_spike",type="error_spike"} 1.0'
        in text
    )
    assert 'agentdeck_log_anomaly_alerts_total{action="created"} 1.0' in text
    assert "agentdeck_log_streams_active 1.0" in text
    assert 'agentdeck_log_batches_open{status="pending"} 0.0' in text
