"""Per-tenant webhook secrets (encrypted) and the deliveries already handled."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class GitHubWebhookSecret(Base):
    __tablename__ = "github_webhook_secrets"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    #: Fernet under the server's secret key, as channel secrets are (notify.crypto).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    #: The secret it replaced, still accepted until ``previous_valid_until`` (time to update
    #: the webhook on GitHub).
    previous_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(default=None)
    rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_by: Mapped[str] = mapped_column(String(200), default="")


class GitHubDelivery(Base):
    __tablename__ = "github_deliveries"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
