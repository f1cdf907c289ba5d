"""Who may call routing, receivers, escalation, inhibition, silences and the alert trace."""

from __future__ import annotations

from agentdeck.identity.roles import Role

V, D, A = Role.viewer, Role.developer, Role.admin

POLICY: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/notification-policy"): V,
    ("PUT", "/api/v1/notification-policy"): A,
    ("GET", "/api/v1/receivers"): V,
    ("POST", "/api/v1/receivers"): A,
    ("GET", "/api/v1/receivers/{receiver_id}"): V,
    ("PATCH", "/api/v1/receivers/{receiver_id}"): A,
    ("DELETE", "/api/v1/receivers/{receiver_id}"): A,
    ("GET", "/api/v1/escalation-policies"): V,
    ("POST", "/api/v1/escalation-policies"): A,
    ("GET", "/api/v1/escalation-policies/{policy_id}"): V,
    ("PATCH", "/api/v1/escalation-policies/{policy_id}"): A,
    ("DELETE", "/api/v1/escalation-policies/{policy_id}"): A,
    ("GET", "/api/v1/inhibition-rules"): V,
    ("POST", "/api/v1/inhibition-rules"): D,
    ("GET", "/api/v1/inhibition-rules/{rule_id}"): V,
    ("PATCH", "/api/v1/inhibition-rules/{rule_id}"): D,
    ("DELETE", "/api/v1/inhibition-rules/{rule_id}"): D,
    ("GET", "/api/v1/silences"): V,
    ("POST", "/api/v1/silences"): D,
    ("POST", "/api/v1/silences/preview"): V,
    ("POST", "/api/v1/silences/from-alert/{alert_id}"): D,
    ("GET", "/api/v1/silences/{silence_id}"): V,
    ("PATCH", "/api/v1/silences/{silence_id}"): D,
    ("POST", "/api/v1/silences/{silence_id}/expire"): D,
    ("DELETE", "/api/v1/silences/{silence_id}"): D,
    ("GET", "/api/v1/alerts/{alert_id}/trace"): V,
}
