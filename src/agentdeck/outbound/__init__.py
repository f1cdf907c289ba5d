"""The outbound policy: one check for every connection the server makes on behalf of a user
(scrapes, notification channels, agent health probes).

Base layer: imports only settings-level things, no domain and no server.
"""

from agentdeck.outbound.clients import (
    Resolver,
    Transport,
    check_url,
    connect,
    connector,
    http_client,
)
from agentdeck.outbound.failures import EXCERPT_CHARS, Failure, describe, excerpt
from agentdeck.outbound.policy import OutboundPolicy, OutboundRefused, literal_address, parse_entry
from agentdeck.outbound.urls import split_http_url

__all__ = [
    "EXCERPT_CHARS",
    "Failure",
    "OutboundPolicy",
    "OutboundRefused",
    "Resolver",
    "Transport",
    "check_url",
    "connect",
    "connector",
    "describe",
    "excerpt",
    "http_client",
    "literal_address",
    "parse_entry",
    "split_http_url",
]
