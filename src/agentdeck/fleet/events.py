"""What the fleet tells WebSocket clients (through the bus; fire-and-forget, never raising).

- ``agent:<id>``: every lifecycle action and every observed change of the agent's status or
  ready replicas: ``{"action", "agent_id", "name", "status", "previous_status", "revision",
  "health": {"status", "healthy", "replicas": {"desired", "ready"}, "detail"}}``; ``action``
  is ``start``, ``stop``, ``restart``, ``scale`` (someone asked), ``status`` (the status
  changed as observed) or ``health`` (only the ready count or detail changed).
- ``fleet``: the same message whenever the status changed (not for ``health``).
- ``deployments``: ``{"action", "deployment": <the deployment without its events>,
  "event": <the newest event or null>}``; ``action`` is ``created``, ``progress``,
  ``rolling_back``, ``completed``, ``failed`` or ``rolled_back``.
"""

from __future__ import annotations

from typing import Any

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.agents.schemas import AgentHealth
from agentdeck.bus.base import Bus
from agentdeck.fleet.models import Deployment
from agentdeck.realtime.publish import spawn


def publish_agent(
    bus: Bus | None, agent: Agent, *, action: str, previous_status: AgentStatus | None
) -> None:
    if bus is None:
        return
    data: dict[str, Any] = {
        "action": action,
        "agent_id": str(agent.id),
        "name": agent.name,
        "status": agent.status.value,
        "previous_status": previous_status.value if previous_status else None,
        "revision": agent.revision,
        "health": AgentHealth.of(agent).model_dump(mode="json"),
    }
    spawn(bus, agent.tenant_id, f"agent:{agent.id}", data)
    if action != "health" and (action != "status" or agent.status != previous_status):
        spawn(bus, agent.tenant_id, "fleet", data)


def publish_deployment(
    bus: Bus | None, deployment: Deployment, *, action: str, summary: dict[str, Any]
) -> None:
    if bus is None:
        return
    events = deployment.events or []
    data = {"action": action, "deployment": summary, "event": events[-1] if events else None}
    spawn(bus, deployment.tenant_id, "deployments", data)
