"""The WebSocket route: ``/api/v1/ws`` (and ``/api/v1/monitoring/ws/metrics``, its alias).

Authentication happens inside the socket (the first message), so these routes are not in the
HTTP OpenAPI document; see docs/websocket.md.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from agentdeck.realtime.hub import Hub
from agentdeck.server.state import AppState

router = APIRouter(prefix="/api/v1")


@router.websocket("/ws")
async def websocket_hub(websocket: WebSocket) -> None:
    """Live events: subscribe to metrics, alerts, deployments, fleet and agent channels."""
    await _hub(websocket).serve(websocket)


@router.websocket("/monitoring/ws/metrics")
async def websocket_metrics(websocket: WebSocket) -> None:
    """Alias of ``/api/v1/ws`` (the monitoring API's address)."""
    await _hub(websocket).serve(websocket)


def _hub(websocket: WebSocket) -> Hub:
    """The app's hub (``AppState.hub``, started in the lifespan)."""
    state: AppState = websocket.app.state.deck
    assert state.hub is not None
    return state.hub
