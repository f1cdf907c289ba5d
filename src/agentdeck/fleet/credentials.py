"""Each agent the fleet runs gets its own telemetry key, in its replicas' environment.

The key is an ordinary API key row (``api_keys``) with ``agent_id`` set, which makes it an
*agent's telemetry key*: the server takes it only on the telemetry ingest routes, and there
only for series and log lines labelled ``agent="<that agent>"`` (403 otherwise, and on every
other route and the WebSocket). It is minted by the fleet loop the first time it hands the
agent's workload to the driver, and revoked (audited, and announced to every replica's
principal cache) when the agent is deleted.

The plaintext is never stored, logged or shown: it is derived when a replica starts, as an
HMAC of the key's id under the server's secret key, and only its SHA-256 hash is in the
database (like every API key). A replica restarted by the supervisor, or by the next server
process after a crash, gets the same key again without it being kept anywhere. The replica's
environment carries it as ``AGENTDECK_API_KEY``, beside ``AGENTDECK_URL`` (where to send):
what the SDK and the built-in templates read.

Rotating the server's secret key changes every derived key: at its next start the server
revokes the keys that no longer match and mints new ones; running replicas are refused until
their next restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.agents.models import Agent
from agentdeck.fleet.driver import WorkloadSpec
from agentdeck.fleet.templates import ENV_API_KEY, ENV_URL
from agentdeck.identity.keys_service import add_key, revoke_row
from agentdeck.identity.models import ApiKey
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.security import API_KEY_PREFIX, sha256_hex
from agentdeck.identity.service import system_principal

log = structlog.get_logger(__name__)

FLEET_ACTOR = "fleet"
_CONTEXT = b"agentdeck fleet agent telemetry key\x00"


def derive(secret: str, key_id: uuid.UUID) -> str:
    """The plaintext of the agent key ``key_id`` under the server's ``secret``."""
    digest = hmac.new(secret.encode(), _CONTEXT + key_id.bytes, hashlib.sha256).digest()
    return API_KEY_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def live_keys(session: AsyncSession, agent_id: uuid.UUID | None = None) -> list[ApiKey]:
    """The agents' telemetry keys not revoked (one agent's, or every agent's)."""
    stmt = select(ApiKey).where(ApiKey.agent_id.is_not(None), ApiKey.revoked_at.is_(None))
    if agent_id is not None:
        stmt = stmt.where(ApiKey.agent_id == agent_id)
    return list((await session.scalars(stmt)).all())


async def mint(session: AsyncSession, *, agent: Agent, secret: str) -> ApiKey:
    """A new telemetry key for ``agent`` (audited as the fleet); flushes, never commits."""
    key_id = uuid.uuid4()
    plaintext = derive(secret, key_id)
    key = ApiKey(
        id=key_id,
        tenant_id=agent.tenant_id,
        name=f"fleet: telemetry of agent {agent.name}"[:200],
        prefix=plaintext[:12],
        key_hash=sha256_hex(plaintext),
        role=Role.developer,
        agent_id=agent.id,
    )
    return await add_key(session, actor=system_principal(agent.tenant_id, FLEET_ACTOR), key=key)


async def revoke_agent_keys(
    session: AsyncSession, *, actor: Principal, agent_id: uuid.UUID
) -> list[uuid.UUID]:
    """Revoke the agent's telemetry keys (before the agent is deleted); their ids, for the
    caller to announce after its commit (``access_changed``)."""
    keys = await live_keys(session, agent_id)
    for key in keys:
        await revoke_row(session, actor=actor, key=key)
    return [key.id for key in keys]


class AgentCredentials:
    """The telemetry key of each agent this process runs, as the environment its replicas get.

    ``url`` is where the agents send (``fleet.agent_telemetry_url``); None turns the keys off.
    """

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], secret: str, url: str | None
    ) -> None:
        self.sessions = sessions
        self.secret = secret
        self.url = url
        self._keys: dict[uuid.UUID, uuid.UUID] = {}  # agent id → key id

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def load(self) -> None:
        """Learn every live agent key (before the driver restarts replicas); re-mint the ones
        the secret key no longer derives (it was rotated)."""
        if not self.enabled:
            return
        async with self.sessions() as session:
            stale = 0
            for key in await live_keys(session):
                assert key.agent_id is not None
                if hmac.compare_digest(sha256_hex(derive(self.secret, key.id)), key.key_hash):
                    self._keys[key.agent_id] = key.id
                    continue
                stale += 1
                await revoke_row(
                    session, actor=system_principal(key.tenant_id, FLEET_ACTOR), key=key
                )
                agent = await session.get(Agent, key.agent_id)
                if agent is not None:
                    self._keys[agent.id] = (await mint(session, agent=agent, secret=self.secret)).id
            await session.commit()
        if stale:
            log.warning("fleet: agent telemetry keys re-minted after a secret key change", n=stale)

    async def ensure(self, agent: Agent) -> None:
        """Mint ``agent``'s key unless it has a live one (the fleet loop, each time it hands a
        changed workload to the driver: a key revoked by hand is replaced at the agent's next
        start, restart, scale or deployment)."""
        if not self.enabled:
            return
        async with self.sessions() as session:
            keys = await live_keys(session, agent.id)
            key = keys[0] if keys else await mint(session, agent=agent, secret=self.secret)
            await session.commit()
        self._keys[agent.id] = key.id

    def forget(self, agent_id: uuid.UUID) -> None:
        self._keys.pop(agent_id, None)

    def env(self, spec: WorkloadSpec) -> Mapping[str, str]:
        """What a replica of ``spec`` gets in its environment (nothing without a key)."""
        key_id = self._keys.get(spec.agent_id)
        if key_id is None or not self.url:
            return {}
        return {ENV_URL: self.url, ENV_API_KEY: derive(self.secret, key_id)}
