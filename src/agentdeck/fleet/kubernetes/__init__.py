"""The Kubernetes driver of the fleet (``fleet.driver=kubernetes``): one Deployment plus one
Service per agent; see :mod:`agentdeck.fleet.kubernetes.driver`."""

from __future__ import annotations

from agentdeck.fleet.kubernetes.driver import KubernetesDriver
from agentdeck.settings import Settings


def open_kubernetes_driver(settings: Settings) -> KubernetesDriver:
    """The driver the settings describe (not started: ``start`` connects)."""
    return KubernetesDriver(settings.fleet.kubernetes)


__all__ = ["KubernetesDriver", "open_kubernetes_driver"]
