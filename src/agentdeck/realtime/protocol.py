"""The WebSocket protocol: client messages (validated), server frames, channels, close codes.

Documented with examples in docs/websocket.md.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from agentdeck.identity.roles import Role
from agentdeck.logs.ingest.normalize import Refused, timestamp_ns

# Close codes (4000–4999 are the application's)
CLOSE_CONNECTION_LIMIT = 4000
CLOSE_UNAUTHENTICATED = 4001
CLOSE_HEARTBEAT_TIMEOUT = 4002
CLOSE_SLOW_CONSUMER = 4008
# The credential stopped being good while connected (expired, revoked, deactivated, removed
# from the tenant, a role that no longer reads a subscribed channel): get a fresh one, reconnect.
CLOSE_ACCESS_ENDED = 4401
CLOSE_GOING_AWAY = 1001

# Channel kinds a client may subscribe to, with the least role that may read them.
CHANNEL_ROLES: dict[str, Role] = {
    "metrics": Role.viewer,
    "alerts": Role.viewer,
    "deployments": Role.viewer,
    "fleet": Role.viewer,
    "agent": Role.viewer,
    "logs": Role.viewer,
}
# Kinds whose events are never dropped: buffered for replay, a slow client is closed instead.
DURABLE_KINDS = frozenset({"alerts", "deployments", "fleet", "agent"})
# Bus patterns of the durable channels (every channel is tenant:<id>:<channel> on the bus).
DURABLE_PATTERNS = (
    "tenant:*:alerts",
    "tenant:*:deployments",
    "tenant:*:fleet",
    "tenant:*:agent:*",
)
TENANT_PATTERN = "tenant:*"


class InvalidChannel(ValueError):
    """Not a channel name the hub knows."""


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A client-facing channel: ``metrics``, ``logs``, ``alerts``, ``deployments``, ``fleet``
    or ``agent:<uuid>``."""

    kind: str
    agent_id: uuid.UUID | None = None

    @property
    def name(self) -> str:
        return f"agent:{self.agent_id}" if self.agent_id else self.kind

    @property
    def durable(self) -> bool:
        return self.kind in DURABLE_KINDS

    def internal(self, tenant_id: uuid.UUID | str) -> str:
        """The bus channel: every channel is scoped to one tenant."""
        return f"tenant:{tenant_id}:{self.name}"


def parse_channel(name: str) -> ChannelRef:
    kind, sep, rest = name.partition(":")
    if kind == "agent" and sep:
        try:
            return ChannelRef("agent", uuid.UUID(rest))
        except ValueError as exc:
            raise InvalidChannel(f"agent channels are agent:<uuid>, not {name!r}") from exc
    if sep or kind not in CHANNEL_ROLES or kind == "agent":
        raise InvalidChannel(
            f"unknown channel {name!r}; use metrics, logs, alerts, deployments, fleet or agent:<id>"
        )
    return ChannelRef(kind)


def split_internal(channel: str) -> tuple[str, str] | None:
    """``tenant:<id>:<channel>`` → (tenant id, channel); None for other bus channels."""
    prefix, _, rest = channel.partition(":")
    tenant, _, name = rest.partition(":")
    if prefix != "tenant" or not tenant or not name:
        return None
    return tenant, name


# --- client → server ---------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class MetricsFilter(BaseModel):
    """Which samples of the ``metrics`` channel to send: by agent (id or name) and metric."""

    model_config = ConfigDict(extra="forbid")

    agent: list[str] | None = Field(None, description="Agent ids or names (any of).")
    metric: list[str] | None = Field(None, description="Metric names (any of).")

    _lists = field_validator("agent", "metric", mode="before")(_as_list)

    def matches(self, sample: dict[str, Any]) -> bool:
        if self.metric is not None and sample.get("metric") not in self.metric:
            return False
        if self.agent is not None:
            labels = sample.get("labels") or {}
            candidates = {sample.get("agent_id"), labels.get("agent"), labels.get("agent_id")}
            if not candidates.intersection(self.agent):
                return False
        return True


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthMessage(_Message):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


def _log_query() -> Any:
    return Field(
        None,
        max_length=4096,
        description='logs: a LogQL query the lines must match, e.g. {service="api"} |= "x".',
    )


def parse_since(value: str | int) -> int:
    """``since`` in ns: RFC 3339 or Unix time in s, ms, µs or ns."""
    try:
        return timestamp_ns(value, time.time_ns())
    except Refused as exc:
        raise ValueError(exc.message) from None


class SubscribeMessage(_Message):
    type: Literal["subscribe"]
    channel: str = Field(max_length=200)
    filter: MetricsFilter | None = None
    interval: float | None = Field(
        None, ge=0.05, le=60, description="Coalescing interval of metric frames (seconds)."
    )
    query: str | None = _log_query()
    since: int | None = Field(
        None,
        description="logs: first replay the lines after this time (RFC 3339 or Unix time), "
        "newest ones first kept when there are many, in the snapshot; then live lines.",
    )

    @field_validator("since", mode="before")
    @classmethod
    def _since_ns(cls, value: object) -> int | None:
        if value is None:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError("since must be an RFC 3339 time or a Unix time")
        return parse_since(value)


class UnsubscribeMessage(_Message):
    type: Literal["unsubscribe"]
    channel: str = Field(max_length=200)


class PingMessage(_Message):
    type: Literal["ping"]
    id: str | int | None = Field(None, description="Echoed in the pong.")


class ResumeMessage(_Message):
    type: Literal["resume"]
    channel: str = Field(max_length=200)
    last_seq: int = Field(ge=0)
    filter: MetricsFilter | None = None
    interval: float | None = Field(None, ge=0.05, le=60)
    query: str | None = _log_query()


ClientMessage = Annotated[
    SubscribeMessage | UnsubscribeMessage | PingMessage | ResumeMessage | AuthMessage,
    Field(discriminator="type"),
]
CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


# --- server → client ---------------------------------------------------------------------


def dump(frame: dict[str, Any]) -> str:
    """Compact JSON (orjson: several times faster than ``json`` on the fan-out path)."""
    return orjson.dumps(frame, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def event_frame(channel: str, seq: int, data: dict[str, Any], at: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "event", "channel": channel, "seq": seq, "data": data}
    if at is not None:
        frame["at"] = at
    return dump(frame)


def error_frame(code: str, message: str, channel: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if channel is not None:
        frame["channel"] = channel
    return dump(frame)


def close_reason(text: str) -> str:
    """Close reasons are limited to 123 bytes."""
    encoded = text.encode()
    return text if len(encoded) <= 123 else encoded[:120].decode(errors="ignore") + "..."


def series_key(sample: dict[str, Any]) -> str:
    labels = sample.get("labels") or {}
    key = {"m": sample.get("metric"), "a": sample.get("agent_id"), "l": sorted(labels.items())}
    return dump(key)


def validation_text(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for error in errors[:3]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])  # no location: none
    return "; ".join(parts) or "invalid message"
