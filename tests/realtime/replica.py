"""A server replica for the multi-replica test: the real app (settings from the environment)
plus one test-only route that publishes through this process's bus.

Run: ``uvicorn --factory tests.realtime.replica:app``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request

from agentdeck.app.factory import create_app
from agentdeck.realtime.hub import publish_event
from agentdeck.settings import Settings


def app() -> FastAPI:
    application = create_app(Settings())

    @application.post("/_test/publish/{tenant_id}/{channel}")
    async def test_publish(
        tenant_id: uuid.UUID, channel: str, data: dict[str, Any], request: Request
    ) -> dict[str, int]:
        seq = await publish_event(request.app.state.deck.hub.bus, tenant_id, channel, data)
        return {"seq": seq}

    return application
