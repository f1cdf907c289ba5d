"""Who may call the OTLP and remote-write receivers (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("POST", "/v1/metrics"): Role.developer,
    ("POST", "/api/v1/write"): Role.developer,
}
