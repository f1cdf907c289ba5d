"""Who may call the scrape-target routes (merged into test_rbac's policy)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/scrape-targets"): Role.viewer,
    ("POST", "/api/v1/scrape-targets"): Role.developer,
    ("GET", "/api/v1/scrape-targets/{target_id}"): Role.viewer,
    ("PATCH", "/api/v1/scrape-targets/{target_id}"): Role.developer,
    ("DELETE", "/api/v1/scrape-targets/{target_id}"): Role.developer,
}
