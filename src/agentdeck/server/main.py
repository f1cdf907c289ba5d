"""Entry point for ASGI servers: ``uvicorn --factory agentdeck.server.main:app_from_env``."""

from __future__ import annotations

from fastapi import FastAPI

from agentdeck.server.app import create_app
from agentdeck.settings import Settings


def app_from_env() -> FastAPI:
    return create_app(Settings())
