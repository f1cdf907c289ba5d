"""The root ``Settings``: environment, secret key, data directory and every group."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentdeck.settings.alerting import AlertingSettings, NotifySettings
from agentdeck.settings.fleet import FleetSettings
from agentdeck.settings.llm import LLMSettings, LogStreamSettings
from agentdeck.settings.logs import LogIntelSettings, LogsSettings
from agentdeck.settings.metrics import LoopSettings, TSDBSettings
from agentdeck.settings.network import OutboundSettings, RealtimeSettings
from agentdeck.settings.server import (
    AuthSettings,
    DatabaseSettings,
    RateLimitSettings,
    ServerSettings,
)

MIN_SECRET_KEY_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class FeatureFlags(BaseModel):
    """Feature switches."""

    signup: bool = Field(False, description="Allow self-service sign-up (off: admins add users).")
    demo: bool = Field(False, description="Start the simulated demo fleet.")
    demo_interval_seconds: float = Field(
        10.0, ge=0.5, le=3600, description="How often the demo fleet reports (seconds)."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # errors must not echo secrets or URLs with passwords
    )

    def __init__(self, **values: Any) -> None:
        # AGENTDECK_ENV_FILE is read when settings are built, not when this module is imported
        if "_env_file" not in values:
            values["_env_file"] = os.environ.get("AGENTDECK_ENV_FILE", ".env")
        super().__init__(**values)

    environment: Environment = Field(
        Environment.development, description="development, test or production."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs tokens and encrypts secrets. Required (at least 32 characters) in "
        "production and with PostgreSQL, where every replica must share it. Unset on SQLite: "
        "a random key is generated on first start into `secret.key` in the data directory.",
    )
    data_dir: Path = Field(Path("./.agentdeck"), description="Directory for embedded data files.")
    redis_url: str | None = Field(
        None,
        description="Redis URL; when set, rate limits, the event bus and the overview's "
        "ingest counters use Redis (shared by every replica).",
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool | None = Field(
        None, description="JSON logs; default: JSON unless stderr is a terminal."
    )
    default_agent_quota: int = Field(
        10, ge=0, description="Agents each user may own, unless the tenant overrides it."
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    tsdb: TSDBSettings = Field(default_factory=TSDBSettings)
    logs: LogsSettings = Field(default_factory=LogsSettings)
    logintel: LogIntelSettings = Field(default_factory=LogIntelSettings)
    logstreams: LogStreamSettings = Field(default_factory=LogStreamSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    loops: LoopSettings = Field(default_factory=LoopSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    features: FeatureFlags = Field(default_factory=FeatureFlags)

    @field_validator("secret_key")
    @classmethod
    def _production_needs_a_real_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            value = None  # an empty variable counts as unset
        # `environment` is declared before `secret_key`, so it is validated already
        weak = value is None or len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH
        if weak and info.data.get("environment") is Environment.production:
            raise ValueError(
                "AGENTDECK_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production"
            )
        return value

    @property
    def write_limits(self) -> str:
        if self.environment is Environment.production:
            return self.rate_limit.write_production
        return self.rate_limit.write
