"""Who may call the autoscaler's and GitHub's routes (merged into test_rbac's policy). The
webhook's payload URL itself is public: its signature authenticates it."""

from __future__ import annotations

from agentdeck.identity.roles import Role

V, A = Role.viewer, Role.admin

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/agents/{agent_id}/autoscaler/decisions"): V,
    ("GET", "/api/v1/webhooks/github/secret"): A,
    ("PUT", "/api/v1/webhooks/github/secret"): A,
}
