"""The LLM analyser against a local OpenAI-compatible server (real HTTP on 127.0.0.1): answers
good, fenced, wrapped in prose and garbage; slow, failing and rate-limited servers; the token
budget; masking of what is sent and unmasking of what comes back; its metrics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agentdeck.logintel.analysis import (
    AnalysisResult,
    Analyzer,
    AnomalySeverity,
    AnomalyType,
    BatchContext,
    BatchLine,
)
from agentdeck.logintel.llm import LLMMetrics, build_analyzer
from agentdeck.logintel.llm.analyzer import LLMAnalyzer
from agentdeck.outbound import OutboundPolicy
from agentdeck.settings import LLMSettings, Settings
from tests.logintel.llm_server import LLMServer, Reply, anomalies_json, llm_server

TENANT = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
T0 = 1_765_000_000_000_000_000

SPIKE = {
    "anomaly_type": "security_incident",
    "severity": "high",
    "service": "auth",
    "description": "Repeated failed logins for <EMAIL_1> from <IP_1>",
    "explanation": "<IP_1> tried <EMAIL_1> 3 times in a second: likely credential stuffing.",
    "confidence": 0.9,
    "recommended_actions": ["Block <IP_1> at the edge", "Reset the password of <EMAIL_1>"],
    "evidence_lines": ["L1", "L2", "L3", "L99", "nonsense"],
    "evidence_templates": [7, 12345],
}


def line(i: int, message: str, *, severity: str = "ERROR", service: str = "auth") -> BatchLine:
    return BatchLine(
        id=f"line-{i}",
        ts_ns=T0 + i * 1_000_000,
        service=service,
        severity=severity,
        message=message,
        template_id=7 if "login failed" in message else 8,
    )


def batch(lines: list[BatchLine] | None = None, tenant: uuid.UUID = TENANT) -> BatchContext:
    if lines is None:
        lines = [
            line(1, "login failed for bob@example.com from 203.0.113.9"),
            line(2, "login failed for bob@example.com from 203.0.113.9"),
            line(3, "login failed for bob@example.com from 203.0.113.9 card 4111 1111 1111 1111"),
            line(4, "request ok Authorization: Bearer abcDEF123456ghiJKL789", severity="INFO"),
        ]
    return BatchContext(
        tenant_id=tenant,
        stream_id=uuid.uuid4(),
        stream_name="auth-errors",
        batch_id=uuid.uuid4(),
        lines=lines,
        templates={7: "login failed for <*> from <*>", 8: "request ok <*>"},
    )


@pytest.fixture
async def server() -> AsyncIterator[LLMServer]:
    async with llm_server() as running:
        yield running


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def analyzer(
    server: LLMServer, registry: CollectorRegistry, clock: Any = None, **overrides: Any
) -> LLMAnalyzer:
    values: dict[str, Any] = {"base_url": server.url, "model": "test-model", "timeout_seconds": 5}
    values.update(overrides)
    settings = LLMSettings(**values)
    extra = {"clock": clock} if clock is not None else {}
    return LLMAnalyzer(settings, policy=OutboundPolicy(), metrics=LLMMetrics(registry), **extra)


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_good_json_gives_drafts_with_values_unmasked(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    server.script(Reply(content=anomalies_json(SPIKE)))
    result = await analyzer(server, registry).analyze(batch())
    assert result.error == ""
    assert (result.prompt_tokens, result.completion_tokens) == (120, 30)
    [draft] = result.drafts
    assert draft.anomaly_type is AnomalyType.SECURITY_INCIDENT
    assert draft.severity is AnomalySeverity.HIGH
    assert draft.detector == "llm"
    assert draft.service == "auth"
    assert draft.confidence == 0.9
    assert draft.description == "Repeated failed logins for bob@example.com from 203.0.113.9"
    assert draft.explanation.startswith("203.0.113.9 tried bob@example.com 3 times")
    assert draft.recommended_actions == (
        "Block 203.0.113.9 at the edge",
        "Reset the password of bob@example.com",
    )
    # only lines and templates of this batch are evidence
    assert draft.evidence_line_ids == ("line-1", "line-2", "line-3")
    assert draft.evidence_template_ids == (7,)
    assert draft.evidence_count == 3
    assert metric(registry, "agentdeck_llm_calls_total", outcome="ok") == 1
    assert metric(registry, "agentdeck_llm_tokens_total", kind="prompt") == 120
    assert metric(registry, "agentdeck_llm_tokens_total", kind="completion") == 30


async def test_what_is_sent_is_masked(server: LLMServer, registry: CollectorRegistry) -> None:
    server.script(Reply(content=anomalies_json()))
    await analyzer(server, registry, api_key="k-123").analyze(batch())
    [request] = server.requests
    sent = server.sent_text()
    for secret in (
        "bob@example.com",
        "203.0.113.9",
        "4111 1111 1111 1111",
        "abcDEF123456ghiJKL789",
    ):
        assert secret not in sent
    assert "login failed for <EMAIL_1> from <IP_1> card <CARD_1>" in sent
    assert "Bearer <TOKEN_1>" in sent
    assert request["model"] == "test-model"
    assert request["response_format"]["type"] == "json_schema"
    assert server.paths == ["/v1/chat/completions"]
    assert server.headers[0]["Authorization"] == "Bearer k-123"


@pytest.mark.parametrize(
    "content",
    [
        "```json\n" + anomalies_json(SPIKE) + "\n```",
        "```\n" + anomalies_json(SPIKE) + "\n```",
        "Here is my analysis:\n" + anomalies_json(SPIKE) + "\nLet me know if you need more.",
        "[" + anomalies_json(SPIKE)[len('{"anomalies": [') : -2] + "]",
    ],
    ids=["json-fence", "plain-fence", "prose-around", "bare-list"],
)
async def test_wrapped_answers_are_read(
    server: LLMServer, registry: CollectorRegistry, content: str
) -> None:
    server.script(Reply(content=content))
    result = await analyzer(server, registry).analyze(batch())
    assert result.error == ""
    assert [d.anomaly_type for d in result.drafts] == [AnomalyType.SECURITY_INCIDENT]


async def test_unknown_types_and_severities_are_dropped_and_confidence_defaults(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    items = [
        {**SPIKE, "anomaly_type": "alien_invasion"},
        {**SPIKE, "severity": "catastrophic"},
        "not an object",
        {  # the seed's spelling: `type` and `analysis`
            "type": "Error Spike",
            "severity": "CRITICAL",
            "description": "errors",
            "analysis": "Most lines are errors",
            "evidence_lines": ["L2"],
        },
        {**SPIKE, "confidence": 7},
    ]
    server.script(Reply(content=anomalies_json(*items)))
    result = await analyzer(server, registry).analyze(batch())
    assert [(d.anomaly_type, d.severity) for d in result.drafts] == [
        (AnomalyType.ERROR_SPIKE, AnomalySeverity.CRITICAL),
        (AnomalyType.SECURITY_INCIDENT, AnomalySeverity.HIGH),
    ]
    assert result.drafts[0].confidence == 0.5  # missing
    assert result.drafts[0].explanation == "Most lines are errors"
    assert result.drafts[0].service == "auth"  # from its evidence line
    assert result.drafts[1].confidence == 1.0  # clamped
    assert metric(registry, "agentdeck_llm_items_dropped_total") == 3


async def test_garbage_is_an_error_without_drafts(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    server.script(Reply(content="I think everything looks {fine} honestly"))
    result = await analyzer(server, registry).analyze(batch())
    assert result.drafts == ()
    assert result.error.startswith("invalid response")
    assert metric(registry, "agentdeck_llm_errors_total", reason="invalid_response") == 1


async def test_a_body_that_is_not_json_is_an_error(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    server.script(Reply(body="<html>gateway</html>"))
    result = await analyzer(server, registry).analyze(batch())
    assert (result.drafts, result.error) == ((), "invalid response: not JSON")


async def test_a_slow_server_times_out(server: LLMServer, registry: CollectorRegistry) -> None:
    server.script(Reply(hang=True))
    llm = analyzer(server, registry, timeout_seconds=0.3)
    result = await llm.analyze(batch())
    assert result == AnalysisResult(error="timeout")
    # the server may have spent the prompt: its estimate counts, not the completion's share
    assert 0 < llm.budget.used(TENANT) < 1000
    assert metric(registry, "agentdeck_llm_errors_total", reason="timeout") == 1


async def test_http_500_is_an_error(server: LLMServer, registry: CollectorRegistry) -> None:
    server.script(Reply(status=500))
    llm = analyzer(server, registry)
    result = await llm.analyze(batch())
    assert result == AnalysisResult(error="http 500")
    assert llm.budget.used(TENANT) == 0  # the reservation is released
    assert metric(registry, "agentdeck_llm_errors_total", reason="http") == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_429_is_honoured_until_retry_after(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    clock = Clock()
    llm = analyzer(server, registry, clock=clock)
    server.script(Reply(status=429, headers={"Retry-After": "30"}))
    first = await llm.analyze(batch())
    assert first == AnalysisResult(error="rate limited (http 429, retry after 30 s)")
    clock.now += 10
    second = await llm.analyze(batch())
    assert second == AnalysisResult(error="rate limited (retry after 20 s)")
    assert len(server.requests) == 1  # no call while waiting
    clock.now += 21
    server.script(Reply(content=anomalies_json(SPIKE)))
    third = await llm.analyze(batch())
    assert (third.error, len(third.drafts)) == ("", 1)
    assert metric(registry, "agentdeck_llm_calls_total", outcome="skipped") == 1
    assert metric(registry, "agentdeck_llm_errors_total", reason="rate_limited") == 2


async def test_the_hourly_budget_stops_calls_per_tenant(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    clock = Clock()
    # each call reserves its prompt estimate + 1000 completion tokens and records 3,800 used
    llm = analyzer(server, registry, clock=clock, tenant_tokens_per_hour=5000)
    for _ in range(3):
        server.script(Reply(content=anomalies_json(), usage=(3000, 800)))
    assert (await llm.analyze(batch())).error == ""
    refused = await llm.analyze(batch())  # 3,800 used + the next reservation > 5,000
    assert refused.drafts == ()
    assert refused.error == "token budget exhausted (3800 of 5000 tokens used in the last hour)"
    assert len(server.requests) == 1
    other = await llm.analyze(batch(tenant=uuid.uuid4()))  # another tenant has its own
    assert other.error == ""
    clock.now += 3601  # the hour slides
    assert (await llm.analyze(batch())).error == ""
    assert len(server.requests) == 3
    assert metric(registry, "agentdeck_llm_errors_total", reason="budget") == 1


async def test_concurrent_batches_cannot_pass_the_budget_together(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    # one call reserves its prompt estimate + 1,000 completion tokens: two do not fit in 2,000
    llm = analyzer(server, registry, tenant_tokens_per_hour=2000)
    results = await asyncio.gather(llm.analyze(batch()), llm.analyze(batch()))
    assert sorted(r.error[:22] for r in results) == ["", "token budget exhausted"]
    assert len(server.requests) == 1


async def test_a_server_refusing_response_format_is_asked_without_it(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    server.script(Reply(content=anomalies_json(SPIKE), refuse_response_format=True))
    server.script(Reply(content=anomalies_json(SPIKE), refuse_response_format=True))
    llm = analyzer(server, registry)
    assert len((await llm.analyze(batch())).drafts) == 1
    assert ["response_format" in r for r in server.requests] == [True, False]
    assert len((await llm.analyze(batch())).drafts) == 1  # not asked again
    assert ["response_format" in r for r in server.requests] == [True, False, False]


async def test_a_large_batch_is_cut_to_its_token_share_errors_first(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    lines = [
        line(i, f"heartbeat {i} from worker-{i} all good " + "x" * 80, severity="INFO")
        for i in range(200)
    ]
    lines[150] = line(150, "disk full on /var/lib/data", severity="ERROR")
    server.script(Reply(content=anomalies_json()))
    await analyzer(server, registry, max_tokens_per_batch=1500, max_completion_tokens=500).analyze(
        batch(lines)
    )
    sent = server.sent_text()
    assert "L151 " in sent and "disk full" in sent
    assert "more lines not shown" in sent
    assert len(sent) < 1000 * 4


async def test_the_outbound_policy_applies(registry: CollectorRegistry) -> None:
    settings = Settings(llm={"base_url": "http://169.254.169.254/v1"})
    llm = build_analyzer(settings, registry=registry)
    assert llm is not None
    result = await llm.analyze(batch())
    assert result.drafts == ()
    assert result.error == "blocked by outbound policy: cloud metadata address"
    assert metric(registry, "agentdeck_llm_errors_total", reason="refused") == 1


async def test_connection_refused_is_an_error(registry: CollectorRegistry) -> None:
    async with llm_server() as gone:
        url = gone.url
    llm = build_analyzer(Settings(llm={"base_url": url}), registry=registry)
    assert llm is not None
    result = await llm.analyze(batch())
    assert (result.drafts, result.error) == ((), "connection failed")


def test_build_analyzer_is_none_without_a_base_url() -> None:
    assert build_analyzer(Settings()) is None
    llm: Analyzer | None = build_analyzer(Settings(llm={"base_url": "http://localhost:11434/v1"}))
    assert llm is not None and llm.name == "llm"


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        LLMSettings(base_url="ftp://example.com")


async def test_an_empty_batch_makes_no_call(server: LLMServer, registry: CollectorRegistry) -> None:
    assert await analyzer(server, registry).analyze(batch([])) == AnalysisResult()
    assert server.requests == []


async def test_the_prompt_carries_masked_templates_counts_and_services(
    server: LLMServer, registry: CollectorRegistry
) -> None:
    lines = [
        line(1, "login failed for bob@example.com from 203.0.113.9"),
        line(2, "request ok fine", severity="INFO", service="ops-carol@example.com"),
    ]
    server.script(Reply(content=anomalies_json()))
    await analyzer(server, registry).analyze(batch(lines))
    system, user = server.requests[0]["messages"]
    assert system["role"] == "system" and "anomaly_type" in system["content"]
    text = user["content"]
    assert "Stream: auth-errors" in text
    assert "Lines: 2 over 0.0 s; error rate 50.0%; by severity: ERROR 1, INFO 1" in text
    assert "T7: login failed for <*> from <*>" in text
    # the header comes first, so the service's address is the first e-mail placeholder
    assert "by service: auth 1, <EMAIL_1> 1" in text
    assert " auth ERROR T7: login failed for <EMAIL_2> from <IP_1>" in text
    assert "ops-carol@example.com" not in text and " <EMAIL_1> INFO T8: request ok" in text
