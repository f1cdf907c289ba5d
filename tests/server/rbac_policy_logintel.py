"""Who may call the log streams, batches and anomalies routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("POST", "/api/v1/log-streams"): Role.developer,
    ("GET", "/api/v1/log-streams"): Role.viewer,
    ("GET", "/api/v1/log-streams/{stream_id}"): Role.viewer,
    ("DELETE", "/api/v1/log-streams/{stream_id}"): Role.developer,
    ("GET", "/api/v1/log-batches"): Role.viewer,
    ("GET", "/api/v1/log-batches/{batch_id}"): Role.viewer,
    ("POST", "/api/v1/log-batches/cleanup"): Role.admin,
    ("GET", "/api/v1/anomalies"): Role.viewer,
    ("GET", "/api/v1/anomalies/{anomaly_id}"): Role.viewer,
}
