"""The real-time hub, health probes and the outbound policy."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agentdeck.settings._lists import OutboundEntries

#: Where health-URL probes may go by default: loopback and the private networks, where a
#: self-hosted fleet's agents answer.
DEFAULT_PROBE_ALLOW = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


class RealtimeSettings(BaseModel):
    """The WebSocket hub: heartbeats, connection caps, replay and metric coalescing."""

    heartbeat_seconds: float = Field(
        30.0, ge=0.05, description="Heartbeat interval; a client silent for two is closed."
    )
    max_connections_per_user: int = Field(
        5, ge=1, description="Open WebSocket connections per user or API key (per replica)."
    )
    replay_buffer: int = Field(
        100, ge=1, description="Events kept per alert/deployment/fleet channel for resume."
    )
    metrics_refresh_seconds: float = Field(
        1.0,
        ge=0.05,
        le=60,
        description="Default interval of metric frames: one frame per interval on average.",
    )
    metrics_burst: int = Field(
        2,
        ge=1,
        le=10,
        description=(
            "Metric frames a subscription may send back to back (its token bucket's size) "
            "before coalescing holds changes back; absorbs jitter in reporting."
        ),
    )
    auth_timeout_seconds: float = Field(
        5.0, ge=0.05, description="Time a new connection has to send its auth message."
    )
    send_queue_size: int = Field(
        256, ge=4, description="Frames queued per connection before a slow client is closed."
    )
    overview_cache_seconds: float = Field(
        5.0, ge=1, le=60, description="How long /api/v1/real-time-metrics answers are reused."
    )
    health_probe_timeout_seconds: float = Field(
        2.0, gt=0, le=30, description="Timeout of one agent health-URL probe."
    )
    heartbeat_fresh_seconds: float = Field(
        60.0, gt=0, description="An agent without a health URL is healthy if seen this recently."
    )
    health_probe_allow: OutboundEntries = Field(
        default_factory=lambda: list(DEFAULT_PROBE_ALLOW),
        description=(
            "More places health-URL probes may go, on top of `outbound.allow` (comma-separated "
            "CIDRs and host names, `*.` wildcards): by default loopback and private networks, "
            "where a self-hosted fleet's agents answer. The rest of the outbound policy applies "
            "(metadata and link-local addresses and `outbound.deny` stay refused)."
        ),
    )


class OutboundSettings(BaseModel):
    """The outbound policy: where scrapes, notification channels and health probes may connect.

    Checked after DNS resolution, on every address and every redirect. Cloud metadata,
    link-local, multicast and reserved addresses are always refused."""

    allow: OutboundEntries = Field(
        default_factory=list,
        description="CIDRs and host names (`*.` wildcards) that may be reached even when they "
        "are loopback or private (comma-separated), e.g. `10.1.0.0/16,*.svc.cluster.local`.",
    )
    deny: OutboundEntries = Field(
        default_factory=list,
        description="CIDRs and host names that are never reached; wins over `allow`.",
    )
    allow_loopback: bool = Field(
        False, description="Allow loopback addresses (127.0.0.0/8, ::1), e.g. for a demo."
    )
    allow_private: bool = Field(
        False,
        description="Allow private and other non-public addresses (10/8, 172.16/12, "
        "192.168/16, 100.64/10, fc00::/7, ...).",
    )
    max_redirects: int = Field(
        5,
        ge=0,
        le=20,
        description="Redirects a scrape follows (each re-checked); channels follow none.",
    )
