"""Identity requests and responses: tokens, the caller, users, API keys, tenant settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from agentdeck.identity.roles import Role

USERNAME_PATTERN = r"^[a-z0-9_.-]{3,64}$"
# Deliberately loose (one @, a dot in the domain, no spaces); delivery is the real check.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
TENANT_SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_AGENT_QUOTA = 1000
MAX_RETENTION_DAYS = 3650
_T = TypeVar("_T")

Username = Annotated[
    str,
    StringConstraints(pattern=USERNAME_PATTERN),
    Field(description="3–64 characters: lowercase letters, digits, '_', '.', '-'."),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=EMAIL_PATTERN),
    Field(description="Email address (stored lowercase)."),
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    Field(description=f"At least {MIN_PASSWORD_LENGTH} characters."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_null(value: _T) -> _T:
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep its value")
    return value


# --- shared references ----------------------------------------------------------------------


class UserRef(BaseModel):
    id: uuid.UUID
    username: str
    email: str
    display_name: str


class TenantRef(BaseModel):
    id: uuid.UUID
    slug: str
    name: str


class ApiKeyRef(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str


# --- auth -----------------------------------------------------------------------------------


class TokenPublic(BaseModel):
    """A fresh access token; the refresh token travels only in the httpOnly cookie."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    user: UserRef
    tenant: TenantRef
    role: Role = Field(description="The user's role in this tenant.")


class MePublic(BaseModel):
    """Who the credentials belong to."""

    kind: Literal["user", "api_key", "system"]
    role: Role
    tenant: TenantRef
    user: UserRef | None = Field(None, description="Set when the caller is a user.")
    api_key: ApiKeyRef | None = Field(None, description="Set when the caller is an API key.")


class PasswordChange(_Input):
    current_password: Annotated[str, StringConstraints(max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password


# --- users ----------------------------------------------------------------------------------


class UserCreate(_Input):
    username: Username
    email: Email
    display_name: DisplayName = ""
    password: Password
    role: Role = Role.viewer


class UserUpdate(_Input):
    """Only the fields sent are changed."""

    display_name: DisplayName | None = None
    email: Email | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: Password | None = None

    @field_validator("display_name", "email", "role", "is_active", "password")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)


class UserPublic(BaseModel):
    """A user as seen through their membership in the caller's tenant."""

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    role: Role = Field(description="Role in this tenant.")
    is_active: bool
    last_login: datetime | None
    created_at: datetime
    updated_at: datetime


# --- API keys -------------------------------------------------------------------------------


class ApiKeyCreate(_Input):
    name: Name
    role: Role = Role.developer
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working (RFC 3339 with offset)."
    )
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="Alternative to expires_at: days from now."
    )

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("expires_at must be in the future")
        return value

    @field_validator("expires_in_days")
    @classmethod
    def _one_expiry(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("expires_at") is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return value


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    role: Role
    created_by: uuid.UUID | None = Field(description="The user who created it (null: CLI/key).")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    agent_id: uuid.UUID | None = Field(
        None,
        description="Set on an agent's telemetry key, minted by the fleet when it runs the "
        "agent: it may only send that agent's metrics and logs, and is revoked with the agent.",
    )


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown only in this response; store it now.")


# --- tenant ---------------------------------------------------------------------------------


class TenantPublic(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    agent_quota_per_user: int | None = Field(
        description="Agents each user may own here; null means the server default."
    )
    effective_agent_quota: int = Field(description="The quota that applies now.")
    retention_days: int | None = Field(
        description="Days this tenant's metric samples are kept; null means the server default."
    )
    effective_retention_days: int = Field(description="The metrics retention that applies now.")
    logs_retention_days: int | None = Field(
        description="Days this tenant's log lines are kept; null means the server default."
    )
    effective_logs_retention_days: int = Field(description="The log retention that applies now.")


class TenantUpdate(_Input):
    name: Name | None = None
    agent_quota_per_user: int | None = Field(
        None, ge=0, le=MAX_AGENT_QUOTA, description="null resets to the server default."
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description=f"Metrics retention in days (1–{MAX_RETENTION_DAYS}); null resets to the "
        "server default.",
    )
    logs_retention_days: int | None = Field(
        None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description=f"Log retention in days (1–{MAX_RETENTION_DAYS}); null resets to the "
        "server default.",
    )

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        return _not_null(value)
