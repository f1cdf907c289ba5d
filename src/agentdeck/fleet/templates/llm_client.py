"""One call to an OpenAI-compatible ``/chat/completions`` endpoint, and what can go wrong.

Failures are domain errors the agent's HTTP layer turns into problems: no endpoint
configured (503), the endpoint unreachable, refusing, rate limiting or answering nonsense
(502), or too slow (504).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

import httpx

from agentdeck.errors import DomainError, Unavailable
from agentdeck.fleet.templates.config import LLMConfig

#: How much of an endpoint's error text a problem quotes.
QUOTE_CHARS = 300


class LLMNotConfigured(Unavailable):
    """The agent has no endpoint (or no model) to call: 503."""

    kind = "llm-not-configured"


class LLMFailed(DomainError):
    """The endpoint was unreachable, refused, rate limited or answered nonsense: 502."""

    kind = "llm-error"


class BadAnswer(LLMFailed):
    """The endpoint answered, but not what was asked for (no label, no JSON object): 502.

    ``completion`` is the answer (its tokens were spent all the same).
    """

    kind = "llm-bad-answer"

    def __init__(self, detail: str, *, title: str, completion: Completion) -> None:
        super().__init__(detail, title=title)
        self.completion = completion


class LLMTimedOut(DomainError):
    """The endpoint did not answer within ``config.llm.timeout``: 504."""

    kind = "llm-timeout"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    model: str
    finish_reason: str | None
    usage: Usage
    latency: float


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) for endpoints that report none."""
    return math.ceil(len(text) / 4) if text else 0


def require_endpoint(llm: LLMConfig) -> tuple[str, str]:
    """``(base_url, model)``, or :class:`LLMNotConfigured` saying which key to set."""
    if not llm.base_url:
        raise LLMNotConfigured(
            "no LLM endpoint configured: set config.llm.base_url to an OpenAI-compatible API "
            "(for example http://127.0.0.1:11434/v1 for Ollama) and config.llm.model",
            title="No LLM endpoint configured",
        )
    if not llm.model:
        raise LLMNotConfigured(
            f"no LLM model configured: set config.llm.model (the endpoint is {llm.base_url})",
            title="No LLM model configured",
        )
    return llm.base_url, llm.model


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _quote(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:QUOTE_CHARS]
        if isinstance(error, str):
            return error[:QUOTE_CHARS]
    except ValueError:
        pass
    return response.text[:QUOTE_CHARS]


async def chat(
    http: httpx.AsyncClient,
    llm: LLMConfig,
    messages: list[dict[str, str]],
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    json_answer: bool = False,
) -> Completion:
    """Send ``messages``; the first choice's text, the model, and the token usage."""
    base_url, model = require_endpoint(llm)
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens or llm.max_tokens,
    }
    if temperature is not None:
        body["temperature"] = temperature
    if json_answer and llm.json_mode:
        body["response_format"] = {"type": "json_object"}
    headers = {}
    if llm.api_key_env:
        key = os.environ.get(llm.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
    where = f"the LLM endpoint {base_url}"
    started = time.perf_counter()
    try:
        response = await http.post(
            f"{base_url}/chat/completions", json=body, headers=headers, timeout=llm.timeout
        )
    except httpx.TimeoutException as exc:
        raise LLMTimedOut(
            f"{where} did not answer within {llm.timeout:g} s (config.llm.timeout)",
            title="LLM endpoint timed out",
        ) from exc
    except httpx.TransportError as exc:
        raise LLMFailed(
            f"{where} is unreachable: {exc!r}",
            kind="llm-unavailable",
            title="LLM endpoint unreachable",
        ) from exc
    latency = time.perf_counter() - started
    if response.status_code == 429:
        retry = response.headers.get("retry-after")
        raise LLMFailed(
            f"{where} is rate limiting (429): {_quote(response)}",
            kind="llm-rate-limited",
            title="LLM endpoint rate limited",
            headers={"Retry-After": retry} if retry else None,
        )
    if response.status_code >= 400:
        raise LLMFailed(
            f"{where} answered {response.status_code}: {_quote(response)}",
            title="LLM endpoint error",
            extra={"upstream_status": response.status_code},
        )
    return _completion(response, model, messages, where, latency)


def _reported_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    try:
        prompt, completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    except (KeyError, TypeError, ValueError):
        return None
    return Usage(prompt, completion) if prompt >= 0 and completion >= 0 else None


def _completion(
    response: httpx.Response,
    model: str,
    messages: list[dict[str, str]],
    where: str,
    latency: float,
) -> Completion:
    try:
        body = response.json()
        choice = body["choices"][0]
        message = choice["message"]
        content = text_of(message.get("content"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMFailed(
            f"{where} did not answer a chat completion: {response.text[:QUOTE_CHARS]!r}",
            kind="llm-bad-response",
            title="LLM endpoint answered nonsense",
        ) from exc
    counted = _reported_usage(body.get("usage")) or Usage(
        sum(estimate_tokens(m.get("content", "")) for m in messages),
        estimate_tokens(content),
        estimated=True,
    )
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Completion(
        content=content,
        model=str(body.get("model") or model),
        finish_reason=str(finish) if finish is not None else None,
        usage=counted,
        latency=latency,
    )
