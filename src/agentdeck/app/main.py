"""Entry point for ASGI servers: ``uvicorn --factory agentdeck.app.main:app_from_env``."""

from __future__ import annotations

from fastapi import FastAPI

from agentdeck.app.factory import create_app
from agentdeck.secret_key import with_secret_key
from agentdeck.settings import Settings


def app_from_env() -> FastAPI:
    # The key is resolved before serving: a missing one stops the start with its reason.
    return create_app(with_secret_key(Settings()))
