"""Who may call the query API (merged into test_rbac's policy): every route is read-only."""

from __future__ import annotations

from agentdeck.identity.roles import Role

V = Role.viewer

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/query"): V,
    ("POST", "/api/v1/query"): V,
    ("GET", "/api/v1/query_range"): V,
    ("POST", "/api/v1/query_range"): V,
    ("GET", "/api/v1/series"): V,
    ("POST", "/api/v1/series"): V,
    ("GET", "/api/v1/labels"): V,
    ("GET", "/api/v1/label/{name}/values"): V,
    ("GET", "/api/v1/metrics/summary"): V,
    ("GET", "/api/v1/metrics"): V,
}
