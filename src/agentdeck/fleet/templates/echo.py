"""The agentdeck echo endpoint: an OpenAI-compatible API for demos and tests. NOT A MODEL.

``POST /v1/chat/completions`` answers with the last user message, word for word, and token
counts estimated from the text (about four characters a token), so template agents have
something to call without a real LLM. Every answer says what it is: the model is
``agentdeck-echo``, ``system_fingerprint`` is ``agentdeck-echo``, and the header
``X-Agentdeck-Echo`` states that this is the echo endpoint, not a model.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agentdeck.fleet.templates.llm_client import estimate_tokens, text_of

ECHO_MODEL = "agentdeck-echo"
ECHO_HEADER = "X-Agentdeck-Echo"
ECHO_NOTICE = "agentdeck echo endpoint: it repeats the last user message; it is not a model"
#: Tokens counted for each message's framing, as chat formats add a few per message.
TOKENS_PER_MESSAGE = 4
MAX_BODY = 4 * 1024 * 1024


def _error(status: int, message: str, *, param: str | None = None) -> JSONResponse:
    """An error in the OpenAI shape, which OpenAI clients read."""
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param}}
    return JSONResponse(body, status_code=status, headers={ECHO_HEADER: ECHO_NOTICE})


def completion(body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
    """The echo's answer to a chat-completions request body (or an OpenAI-shaped error)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "messages must be a non-empty list", param="messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return _error(400, "every message needs a role", param="messages")
    if body.get("stream"):
        return _error(400, "the echo endpoint does not stream; send stream: false", param="stream")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        return _error(400, "max_tokens must be a positive integer", param="max_tokens")
    users = [text_of(m.get("content")) for m in messages if m["role"] == "user"]
    content = users[-1] if users else ""
    finish = "stop"
    if max_tokens is not None and estimate_tokens(content) > max_tokens:
        content, finish = content[: max_tokens * 4], "length"
    prompt_tokens = sum(
        TOKENS_PER_MESSAGE + estimate_tokens(text_of(m.get("content"))) for m in messages
    )
    completion_tokens = estimate_tokens(content)
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:24]
    return {
        "id": f"chatcmpl-echo-{digest}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ECHO_MODEL,
        "system_fingerprint": ECHO_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def create_echo_app() -> FastAPI:
    app = FastAPI(
        title="agentdeck echo endpoint (not a model)",
        summary=ECHO_NOTICE,
        version="1",
    )

    @app.post("/v1/chat/completions", operation_id="create_chat_completion")
    async def chat_completions(request: Request) -> Any:
        """Echo the last user message (OpenAI chat-completions shape)."""
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, f"the body is over {MAX_BODY} bytes")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        answer = completion(body)
        if isinstance(answer, JSONResponse):
            return answer
        return JSONResponse(answer, headers={ECHO_HEADER: ECHO_NOTICE})

    @app.get("/v1/models", operation_id="list_models")
    async def models() -> Any:
        """The one "model" this endpoint serves."""
        data = [{"id": ECHO_MODEL, "object": "model", "created": 0, "owned_by": "agentdeck"}]
        return JSONResponse({"object": "list", "data": data}, headers={ECHO_HEADER: ECHO_NOTICE})

    @app.get("/healthz", operation_id="healthz")
    async def healthz() -> Any:
        return JSONResponse(
            {"status": "ok", "notice": ECHO_NOTICE}, headers={ECHO_HEADER: ECHO_NOTICE}
        )

    return app
