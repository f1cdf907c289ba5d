"""What one app holds of the fleet: its driver, and a way to nudge the fleet loop."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.fleet.driver import Driver
from agentdeck.secret_key import secret_key
from agentdeck.settings import FleetDriverKind, Settings

if TYPE_CHECKING:
    from agentdeck.fleet.credentials import AgentCredentials
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


def telemetry_url(settings: Settings) -> str | None:
    """Where the fleet's agents send telemetry: ``fleet.agent_telemetry_url``, else (local
    driver) this server on the loopback interface; None: no agent keys."""
    fleet = settings.fleet
    if not fleet.agent_keys:
        return None
    if fleet.agent_telemetry_url:
        return fleet.agent_telemetry_url.rstrip("/")
    if fleet.driver is not FleetDriverKind.local:
        return None  # a pod cannot reach this server's loopback
    host = settings.server.host
    if host in ("", "0.0.0.0", "::", "localhost"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def agent_credentials(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AgentCredentials:
    """The agents' telemetry keys, derived under the settings' secret key (already resolved)."""
    from agentdeck.fleet.credentials import AgentCredentials

    return AgentCredentials(
        sessions=sessions,
        secret=secret_key(settings),
        url=telemetry_url(settings),
    )


class Fleet:
    def __init__(self, driver: Driver, credentials: AgentCredentials | None = None) -> None:
        self.driver = driver
        self.loop: FleetLoop | None = None
        #: The agents' telemetry keys (None: off); their replicas get them in the environment.
        self.credentials = credentials
        if credentials is not None and credentials.enabled:
            driver.set_env_source(credentials.env)

    def wake(self) -> None:
        """Let the fleet loop act on a change now rather than at its next interval."""
        if self.loop is not None:
            self.loop.wake()

    async def start(self) -> None:
        if self.credentials is not None:
            await self.credentials.load()  # before the driver restarts any replica
        await self.driver.start()

    async def close(self) -> None:
        await self.driver.close()

    async def readiness(self) -> str:
        """The ``fleet`` line of ``/readyz``: the driver and how it enforces limits."""
        caps = self.driver.capabilities()
        role = "" if caps.active else " (standby)"
        return f"{caps.driver} driver{role}, {caps.replicas} replicas; limits: {caps.detail}"
