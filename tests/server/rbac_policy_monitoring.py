"""Who may call the monitoring routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/monitoring/overview"): Role.viewer,
    ("GET", "/api/v1/monitoring/agents"): Role.viewer,
    ("GET", "/api/v1/monitoring/topology"): Role.viewer,
    ("GET", "/api/v1/monitoring/performance/trends"): Role.viewer,
}
