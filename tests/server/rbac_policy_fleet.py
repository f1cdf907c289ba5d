"""Who may call the fleet's routes: lifecycle and deployments (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

V, D = Role.viewer, Role.developer

POLICY: dict[tuple[str, str], Role] = {
    ("POST", "/api/v1/agents/{agent_id}/start"): D,
    ("POST", "/api/v1/agents/{agent_id}/stop"): D,
    ("POST", "/api/v1/agents/{agent_id}/restart"): D,
    ("POST", "/api/v1/agents/{agent_id}/scale"): D,
    ("GET", "/api/v1/agents/{agent_id}/replicas"): V,
    ("GET", "/api/v1/agents/{agent_id}/output"): V,
    ("GET", "/api/v1/fleet/driver"): V,
    ("POST", "/api/v1/agents/{agent_id}/deployments"): D,
    ("GET", "/api/v1/agents/{agent_id}/deployments"): V,
    ("GET", "/api/v1/deployments"): V,
    ("GET", "/api/v1/deployments/{deployment_id}"): V,
    ("GET", "/api/v1/deployments/{deployment_id}/diff"): V,
    ("POST", "/api/v1/deployments/{deployment_id}/rollback"): D,
}
