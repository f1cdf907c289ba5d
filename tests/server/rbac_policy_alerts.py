"""Who may call the alerts routes and the Alertmanager v2 receiver (merged into test_rbac)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/alerts"): Role.viewer,
    ("POST", "/api/v1/alerts/bulk"): Role.developer,
    ("GET", "/api/v1/alerts/{alert_id}"): Role.viewer,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): Role.developer,
    ("POST", "/api/v1/alerts/{alert_id}/unacknowledge"): Role.developer,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): Role.developer,
    ("POST", "/api/v1/alerts/{alert_id}/notes"): Role.developer,
    ("GET", "/api/v1/alerts/{alert_id}/timeline"): Role.viewer,
    ("POST", "/api/v2/alerts"): Role.developer,
}
