"""Fill a running agentdeck of the previous release with representative data through its own
API, and write what the upgrade test checks (names, plaintext keys) as JSON.

Run by ``scripts/make-upgrade-fixture.sh`` with the *previous release's* Python, so it imports
nothing of agentdeck: only httpx and the HTTP API the release served.

    python tests/upgrade/populate.py URL ADMIN_PASSWORD FACTS.json
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

VIEWER_PASSWORD = "viewer password of the fixture"
DEVELOPER_PASSWORD = "developer password of the fixture"
AGENTS: list[dict[str, Any]] = [
    {
        "name": "intent-router",
        "type": "llm",
        "description": "routes requests",
        "labels": {"team": "core", "env": "prod"},
        "dependencies": ["retriever", "openai-api"],
        "replica_count": 2,
    },
    {"name": "retriever", "type": "extractor", "labels": {"team": "search"}},
    {"name": "nightly-batch", "type": "classifier", "labels": {"team": "data", "env": "stage"}},
]
RULES: list[dict[str, Any]] = [
    {
        "name": "HighErrorRate",
        "expr": 'rate(agent_errors_total{team="core"}[5m]) > 0.1',
        "severity": "critical",
        "for_seconds": 120,
        "labels": {"page": "yes"},
        "annotations": {"summary": "errors on {{ $labels.agent }}"},
    },
    {"name": "SlowAgents", "expr": "agent_latency_ms > 2000", "severity": "warning"},
]
CHANNEL: dict[str, Any] = {
    "name": "ops-webhook",
    "kind": "webhook",
    "config": {"url": "https://hooks.example.com/agentdeck"},
    "secrets": {"signing_secret": "whsec-fixture-0123456789"},
}
SILENCE: dict[str, Any] = {
    "matchers": [{"name": "env", "op": "=", "value": "stage"}],
    "comment": "stage is noisy",
}


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


def main(url: str, admin_password: str, facts_path: str) -> None:
    api = httpx.Client(base_url=url, timeout=30)
    token = _ok(
        api.post("/api/v1/auth/token", data={"username": "admin", "password": admin_password})
    )
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    for username, role, password in (
        ("vera", "viewer", VIEWER_PASSWORD),
        ("devon", "developer", DEVELOPER_PASSWORD),
    ):
        _ok(
            api.post(
                "/api/v1/users",
                json={
                    "username": username,
                    "email": f"{username}@example.test",
                    "password": password,
                    "role": role,
                },
                headers=admin,
            )
        )
    keys = {}
    for name, role in (("ci-developer", "developer"), ("dash-viewer", "viewer"), ("old", "admin")):
        created = _ok(
            api.post("/api/v1/api-keys", json={"name": name, "role": role}, headers=admin)
        )
        keys[name] = {"key": created["key"], "id": created["id"], "role": role}
    _ok(api.delete(f"/api/v1/api-keys/{keys['old']['id']}", headers=admin))  # revoked
    developer = {"X-API-Key": keys["ci-developer"]["key"]}
    for agent in AGENTS:
        _ok(api.post("/api/v1/agents", json=agent, headers=developer))
    channel = _ok(api.post("/api/v1/notification-channels", json=CHANNEL, headers=admin))
    for rule in RULES:
        _ok(
            api.post(
                "/api/v1/alert-rules",
                json={**rule, "channel_ids": [channel["id"]]},
                headers=developer,
            )
        )
    ends = datetime.now(UTC) + timedelta(days=300)  # a silence lasts at most a year
    silence = _ok(
        api.post(
            "/api/v1/silences",
            json={**SILENCE, "ends_at": ends.isoformat().replace("+00:00", "Z")},
            headers=developer,
        )
    )
    facts = {
        "admin_password": admin_password,
        "keys": keys,
        "channel_id": channel["id"],
        "silence_id": silence["id"],
        "version": _ok(api.get("/api/v1/info"))["version"],
    }
    with open(facts_path, "w") as out:
        json.dump(facts, out, indent=2, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
