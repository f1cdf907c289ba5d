"""Settings: nested pydantic-settings with the ``AGENTDECK_`` prefix.

Nested fields use ``__`` as the delimiter, e.g. ``AGENTDECK_SERVER__PORT=9000``.
An optional env file is read from the path in ``AGENTDECK_ENV_FILE`` (default ``.env``).

One module per group of sections (``server``, ``metrics``, ``logs``, ``network``,
``alerting``, ``fleet``) and the root ``Settings`` in ``root``; import them from here. This
package is the base layer: it imports nothing of the app but the outbound policy's entry
parser (``outbound`` is base layer too).
"""

from agentdeck.settings.alerting import AlertingSettings, NotifySettings
from agentdeck.settings.fleet import (
    AutoscalerSettings,
    FleetDriverKind,
    FleetKubernetesSettings,
    FleetSettings,
)
from agentdeck.settings.llm import LLMSettings, LogStreamSettings
from agentdeck.settings.logs import LogIntelSettings, LogsSettings, LogStoreBackend
from agentdeck.settings.metrics import LoopSettings, MetricsStoreBackend, TSDBSettings
from agentdeck.settings.network import DEFAULT_PROBE_ALLOW, OutboundSettings, RealtimeSettings
from agentdeck.settings.root import MIN_SECRET_KEY_LENGTH, Environment, FeatureFlags, Settings
from agentdeck.settings.server import (
    AuthSettings,
    DatabaseSettings,
    RateLimitSettings,
    ServerSettings,
)

__all__ = [
    "LLMSettings",
    "LogStreamSettings",
    "DEFAULT_PROBE_ALLOW",
    "MIN_SECRET_KEY_LENGTH",
    "AlertingSettings",
    "AuthSettings",
    "AutoscalerSettings",
    "DatabaseSettings",
    "Environment",
    "FeatureFlags",
    "FleetDriverKind",
    "FleetKubernetesSettings",
    "FleetSettings",
    "LogIntelSettings",
    "LogStoreBackend",
    "LogsSettings",
    "LoopSettings",
    "MetricsStoreBackend",
    "NotifySettings",
    "OutboundSettings",
    "RateLimitSettings",
    "RealtimeSettings",
    "ServerSettings",
    "Settings",
    "TSDBSettings",
]
