"""Who may call the live overview (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/real-time-metrics"): Role.viewer,
}
