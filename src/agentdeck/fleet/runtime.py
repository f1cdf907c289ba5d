"""What one app holds of the fleet: its driver, and a way to nudge the fleet loop."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from agentdeck.fleet.driver import Driver
from agentdeck.settings import FleetDriverKind, Settings

if TYPE_CHECKING:
    from agentdeck.fleet.loop import FleetLoop


def open_driver(settings: Settings) -> Driver:
    """The driver the settings choose (not started)."""
    if settings.fleet.driver is FleetDriverKind.local:
        from agentdeck.fleet.local.driver import LocalDriver

        return LocalDriver(settings.fleet, settings.fleet.dir or settings.data_dir / "fleet")
    try:  # built beside this one; looked up by name so this module does not depend on it
        module = importlib.import_module("agentdeck.fleet.kubernetes")
    except ImportError as exc:
        raise RuntimeError(
            "fleet.driver is kubernetes, but this build has no Kubernetes driver; set "
            "AGENTDECK_FLEET__DRIVER=local"
        ) from exc
    driver: Driver = module.open_kubernetes_driver(settings)
    return driver


class Fleet:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.loop: FleetLoop | None = None

    def wake(self) -> None:
        """Let the fleet loop act on a change now rather than at its next interval."""
        if self.loop is not None:
            self.loop.wake()

    async def start(self) -> None:
        await self.driver.start()

    async def close(self) -> None:
        await self.driver.close()

    async def readiness(self) -> str:
        """The ``fleet`` line of ``/readyz``: the driver and how it enforces limits."""
        caps = self.driver.capabilities()
        role = "" if caps.active else " (standby)"
        return f"{caps.driver} driver{role}, {caps.replicas} replicas; limits: {caps.detail}"
