"""The LLM analyser: one chat-completions call per closed batch, masked, budgeted, never raising.

Calls go through the project's outbound policy (:func:`agentdeck.outbound.http_client`), with
the configured endpoint's host added to the allow list (an admin chose it; a local Ollama is on
loopback). Any failure becomes :attr:`AnalysisResult.error` with no drafts: ``timeout``,
``http 500``, ``rate limited (retry after 30 s)`` (no call is made until then),
``token budget exhausted``, ``invalid response``, ``connection failed``, or the policy's refusal.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from agentdeck.logintel.analysis import AnalysisResult, BatchContext
from agentdeck.logintel.llm import parse, prompt
from agentdeck.logintel.llm.budget import TokenBudget
from agentdeck.logintel.llm.metrics import LLMMetrics
from agentdeck.logintel.llm.pii import Masker
from agentdeck.outbound import OutboundPolicy, OutboundRefused, describe, http_client
from agentdeck.settings import LLMSettings

log = structlog.get_logger(__name__)

NAME = "llm"
#: Statuses with which a server may refuse ``response_format``; asked again without it.
_SCHEMA_REFUSED = (400, 422)
MAX_RETRY_AFTER = 3600.0


class _Failure(Exception):
    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason  # the metrics label
        self.error = error  # what the result reports


def endpoint_policy(base_url: str, policy: OutboundPolicy) -> OutboundPolicy:
    """``policy`` with the endpoint's host allowed (deny and metadata refusals still apply)."""
    host = urlsplit(base_url).hostname or ""
    return policy.extended([host]) if host else policy


def retry_after(value: str | None, now: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); 1 s when
    absent or unreadable, at most an hour."""
    if not value:
        return 1.0
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return 1.0
        seconds = when.timestamp() - now
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


class LLMAnalyzer:
    """An :class:`~agentdeck.logintel.analysis.Analyzer` over an OpenAI-compatible endpoint."""

    name = NAME

    def __init__(
        self,
        settings: LLMSettings,
        *,
        policy: OutboundPolicy,
        metrics: LLMMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.base_url:
            raise ValueError("llm.base_url is not set")
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.policy = endpoint_policy(settings.base_url, policy)
        self.metrics = metrics
        self.clock = clock
        self.budget = TokenBudget(settings.tenant_tokens_per_hour, clock=clock)
        self.structured = settings.structured_output
        self._blocked_until = 0.0

    async def analyze(self, batch: BatchContext) -> AnalysisResult:
        if not batch.lines:
            return AnalysisResult()
        try:
            return await self._analyze(batch)
        except _Failure as failure:
            self._count_error(failure.reason)
            return AnalysisResult(error=failure.error)
        except Exception as exc:  # never raise: the batch keeps its rule anomalies
            # the type only: a message could carry the endpoint's URL or a line's content
            log.warning("llm analysis failed", batch=str(batch.batch_id), error=type(exc).__name__)
            self._count_error("error")
            return AnalysisResult(error=f"error: {type(exc).__name__}")

    async def _analyze(self, batch: BatchContext) -> AnalysisResult:
        settings = self.settings
        now = self.clock()
        if now < self._blocked_until:
            self._count_call("skipped")
            wait = self._blocked_until - now
            raise _Failure("rate_limited", f"rate limited (retry after {wait:.0f} s)")
        masker = Masker()
        share = settings.max_tokens_per_batch - settings.max_completion_tokens
        built = prompt.build(batch, masker, token_share=max(share, 200))
        reserved = built.estimated_tokens + settings.max_completion_tokens
        spend = self.budget.reserve(batch.tenant_id, reserved)
        if spend is None:
            self._count_call("skipped")
            used = self.budget.used(batch.tenant_id)
            raise _Failure(
                "budget",
                f"token budget exhausted ({used} of {settings.tenant_tokens_per_hour} "
                "tokens used in the last hour)",
            )
        started = time.perf_counter()
        try:
            body = await self._complete(built.messages)
        except _Failure as failure:
            # a timed-out call may have spent its prompt; a refused or failed one spent nothing
            self.budget.settle(spend, built.estimated_tokens if failure.reason == "timeout" else 0)
            raise
        except BaseException:
            self.budget.settle(spend, 0)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.seconds.observe(time.perf_counter() - started)
        prompt_tokens, completion_tokens = self._usage(body, built.estimated_tokens)
        self.budget.settle(spend, prompt_tokens + completion_tokens)
        if self.metrics is not None:
            self.metrics.tokens.labels("prompt").inc(prompt_tokens)
            self.metrics.tokens.labels("completion").inc(completion_tokens)
        content = _content(body)
        try:
            decoded = parse.extract_json(content) if content is not None else None
        except parse.NoJSON:
            decoded = None
        if decoded is None:
            self._count_call("error")
            self._count_error("invalid_response")
            return AnalysisResult(
                error="invalid response: no JSON in the answer",
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )
        parsed = parse.drafts(decoded, refs=built.refs, lines=list(batch.lines), masker=masker)
        self._count_call("ok")
        if self.metrics is not None:
            self.metrics.drafts.inc(len(parsed.drafts))
            self.metrics.dropped.inc(parsed.dropped)
        return AnalysisResult(
            drafts=parsed.drafts,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    async def _complete(self, messages: list[dict[str, str]]) -> Any:
        """POST the request (again without ``response_format`` when the server refuses it);
        the decoded answer, or :class:`_Failure`."""
        settings = self.settings
        request: dict[str, Any] = {
            "model": settings.model,
            "messages": messages,
            "max_tokens": settings.max_completion_tokens,
            "temperature": 0,
            "stream": False,
        }
        headers = {"Accept": "application/json"}
        key = settings.api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with (
                asyncio.timeout(settings.timeout_seconds),
                http_client(self.policy, timeout=settings.timeout_seconds) as client,
            ):
                structured = self.structured
                if structured:
                    request["response_format"] = prompt.response_format()
                response = await client.post(self.url, json=request, headers=headers)
                if structured and response.status_code in _SCHEMA_REFUSED:
                    del request["response_format"]
                    response = await client.post(self.url, json=request, headers=headers)
                    if response.is_success:
                        self.structured = False  # this server refuses it: do not ask again
                        log.info("llm endpoint refuses response_format; asking without it")
                await response.aread()
        except OutboundRefused as exc:
            self._count_call("error")
            raise _Failure("refused", exc.summary) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            self._count_call("error")
            raise _Failure("timeout", "timeout") from exc
        except (httpx.HTTPError, OSError) as exc:
            self._count_call("error")
            raise _Failure("connection", describe(exc).summary) from exc
        if response.status_code == 429:
            wait = retry_after(response.headers.get("Retry-After"), time.time())
            self._blocked_until = self.clock() + wait
            self._count_call("error")
            raise _Failure("rate_limited", f"rate limited (http 429, retry after {wait:.0f} s)")
        if not response.is_success:
            self._count_call("error")
            raise _Failure("http", f"http {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            self._count_call("error")
            raise _Failure("invalid_response", "invalid response: not JSON") from exc

    @staticmethod
    def _usage(body: Any, estimate: int) -> tuple[int, int]:
        usage = body.get("usage") if isinstance(body, dict) else None
        if isinstance(usage, dict):
            p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if isinstance(p, int) and isinstance(c, int) and p >= 0 and c >= 0:
                return p, c
        content = _content(body) or ""
        return estimate, prompt.estimate_tokens(content)

    def _count_call(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.calls.labels(outcome).inc()

    def _count_error(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.errors.labels(reason).inc()


def _content(body: Any) -> str | None:
    """``choices[0].message.content`` of a chat-completions answer (``None`` if absent)."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None
