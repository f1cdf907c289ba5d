"""The listeners one domain registers on another's hooks, wired once per process."""

from __future__ import annotations


def wire_domain_hooks() -> None:
    """Register every cross-domain listener (idempotent): a new tenant gets the default rules."""
    from agentdeck.alerting.rules.defaults import install_for_new_tenant
    from agentdeck.identity.hooks import on_tenant_created

    on_tenant_created(install_for_new_tenant)
