"""A local OpenAI-compatible chat-completions server for the LLM analyser's tests (real HTTP on
127.0.0.1), answering each request with the next scripted reply and keeping what it received."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the assistant message's content
    body: str | None = None  # a raw body instead of a chat-completions answer
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] | None = (120, 30)
    hang: bool = False  # never answer (until the server stops)
    refuse_response_format: bool = False  # 400 when the request asks for it


def chat(content: str, usage: tuple[int, int] | None = (120, 30)) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
    }
    if usage is not None:
        answer["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return answer


@dataclass
class LLMServer:
    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def sent_text(self, index: int = -1) -> str:
        """Everything the analyser sent in one request's messages."""
        return "\n".join(m["content"] for m in self.requests[index]["messages"])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self.paths.append(request.path)
        reply = self.replies.pop(0) if self.replies else Reply(content='{"anomalies": []}')
        if reply.refuse_response_format and "response_format" in body:
            self.replies.insert(0, reply)
            return web.json_response(
                {"error": {"message": "response_format is not supported"}}, status=400
            )
        if reply.hang:
            await self._stop.wait()
            return web.Response(status=503)
        if reply.body is not None:
            return web.Response(
                status=reply.status,
                text=reply.body,
                headers=reply.headers,
                content_type="text/plain",
            )
        if reply.status != 200:
            return web.json_response(
                {"error": {"message": "scripted failure"}},
                status=reply.status,
                headers=reply.headers,
            )
        return web.json_response(chat(reply.content or "", reply.usage), headers=reply.headers)


@asynccontextmanager
async def llm_server() -> AsyncIterator[LLMServer]:
    server = LLMServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        server._stop.set()
        await runner.cleanup()


def anomalies_json(*items: dict[str, Any]) -> str:
    return json.dumps({"anomalies": list(items)})
