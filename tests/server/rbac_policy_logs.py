"""Who may call the log routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("POST", "/v1/logs"): Role.developer,
    ("POST", "/api/v1/logs/batch"): Role.developer,
    ("POST", "/loki/api/v1/push"): Role.developer,
    ("GET", "/api/v1/logs"): Role.viewer,
    ("GET", "/api/v1/logs/histogram"): Role.viewer,
    ("GET", "/api/v1/logs/labels"): Role.viewer,
    ("GET", "/api/v1/logs/labels/{name}/values"): Role.viewer,
    ("GET", "/api/v1/logs/{line_id}/context"): Role.viewer,
}
