"""Who may manage notification channels and read the delivery log (merged into test_rbac)."""

from __future__ import annotations

from agentdeck.identity.roles import Role

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/notification-channels/kinds"): Role.admin,
    ("GET", "/api/v1/notification-channels"): Role.admin,
    ("POST", "/api/v1/notification-channels"): Role.admin,
    ("GET", "/api/v1/notification-channels/{channel_id}"): Role.admin,
    ("PATCH", "/api/v1/notification-channels/{channel_id}"): Role.admin,
    ("DELETE", "/api/v1/notification-channels/{channel_id}"): Role.admin,
    ("POST", "/api/v1/notification-channels/{channel_id}/test"): Role.admin,
    ("GET", "/api/v1/notification-deliveries"): Role.viewer,
    ("POST", "/api/v1/notification-deliveries/{outbox_id}/retry"): Role.admin,
}
