"""Who may call the alert rule routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/alert-rules"): Role.viewer,
    ("POST", "/api/v1/alert-rules"): Role.developer,
    ("POST", "/api/v1/alert-rules/compile"): Role.viewer,
    ("POST", "/api/v1/alert-rules/test"): Role.viewer,
    ("POST", "/api/v1/alert-rules/default-pack"): Role.developer,
    ("POST", "/api/v1/alert-rules/import"): Role.developer,
    ("GET", "/api/v1/alert-rules/export"): Role.viewer,
    ("GET", "/api/v1/alert-rules/{rule_id}"): Role.viewer,
    ("PATCH", "/api/v1/alert-rules/{rule_id}"): Role.developer,
    ("DELETE", "/api/v1/alert-rules/{rule_id}"): Role.developer,
}
