"""Who may call the JSON ingest routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("POST", "/api/v1/metrics/batch"): Role.developer,
    ("POST", "/api/v1/agents/{agent_id}/metrics"): Role.developer,
}
