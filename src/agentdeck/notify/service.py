"""Notification channels: tenant-scoped CRUD with per-kind validation, encrypted secrets, audit.

The secret parts of config URLs (user information, query values, fragment) are kept with the
encrypted secrets and shown masked (see ``channels.urls``). When a change moves a channel to
another destination host, the stored secrets are not carried along: the change must send each
of them again (or null to clear it), else 422 names them.

Services flush; the caller commits. Every query filters on the tenant.
"""

from __future__ import annotations

import enum
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.audit.service import record
from agentdeck.crud import require_time_cursor
from agentdeck.db.base import utcnow
from agentdeck.errors import FieldIssue, Invalid, invalid
from agentdeck.identity.principal import Principal
from agentdeck.identity.service import system_principal
from agentdeck.notify.channels import all_specs, spec
from agentdeck.notify.channels.urls import (
    MASK,
    hide,
    host_of,
    masked,
    pack,
    shown,
    unpack,
    url_fields,
)
from agentdeck.notify.crypto import SecretBox, SecretsUnreadable
from agentdeck.notify.models import ChannelKind, NotificationChannel
from agentdeck.notify.schemas import (
    ChannelCreate,
    ChannelKindPublic,
    ChannelPublic,
    ChannelUpdate,
    KindField,
)
from agentdeck.pagination import fetch_page, where_given

RESOURCE = "notification channel"
AUDIT_TYPE = "notification_channel"


def _tenant_channels(tenant_id: uuid.UUID) -> Select[NotificationChannel]:
    return select(NotificationChannel).where(NotificationChannel.tenant_id == tenant_id)


def shown_config(channel: NotificationChannel) -> dict[str, Any]:
    """The channel's config with the secret parts of its URLs masked."""
    return shown(spec(channel.kind.value).config_model, channel.config)


def public(channel: NotificationChannel, box: SecretBox) -> ChannelPublic:
    try:
        secrets, _ = unpack(box.decrypt(channel.secrets_encrypted))
        names = sorted(k for k, v in secrets.items() if v)
    except Exception:  # unreadable under the current keys: say nothing is set
        names = []
    return ChannelPublic(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        config=shown_config(channel),
        secrets_set=names,
        enabled=channel.enabled,
        send_resolved=channel.send_resolved,
        rate_limit_per_minute=channel.rate_limit_per_minute,
        revision=channel.revision,
        last_test_at=channel.last_test_at,
        last_test_ok=channel.last_test_ok,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


# --- kinds ---------------------------------------------------------------------------------


def _type_name(annotation: Any) -> tuple[str, list[str] | None]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        return _type_name(args[0])
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is list:
        return "list", None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "enum", [str(m.value) for m in annotation]
    if annotation is bool:
        return "boolean", None
    if annotation is int:
        return "integer", None
    return "string", None


def _fields(model: type[BaseModel], secret: bool) -> list[KindField]:
    out = []
    for name, info in model.model_fields.items():
        kind, choices = _type_name(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, enum.Enum):
            default = default.value
        out.append(
            KindField(
                name=name,
                secret=secret,
                required=info.is_required(),
                type=kind,
                default=default,
                choices=choices,
                description=info.description,
            )
        )
    return out


def kinds() -> list[ChannelKindPublic]:
    """Every channel kind with its config and secret fields (what the UI builds forms from)."""
    return [
        ChannelKindPublic(
            kind=ChannelKind(s.kind),
            title=s.title,
            fields=_fields(s.config_model, False) + _fields(s.secrets_model, True),
        )
        for s in all_specs()
    ]


def validate_settings(
    kind: str, config: dict[str, Any], secrets: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check config and secrets against the kind's models; 422 naming each bad field."""
    kind_spec = spec(kind)
    errors: list[FieldIssue] = []
    clean: list[dict[str, Any]] = []
    for part, model, values in (
        ("config", kind_spec.config_model, config),
        ("secrets", kind_spec.secrets_model, secrets),
    ):
        try:
            clean.append(model.model_validate(values).model_dump(mode="json", exclude_none=True))
        except ValidationError as exc:
            clean.append({})
            for err in exc.errors(include_url=False, include_input=False):
                loc: list[str | int] = ["body", part, *err["loc"]]
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    message = f"{err['loc'][-1]} is not a {part} field of {kind} channels"
                errors.append(FieldIssue(loc=loc, message=message, type=err["type"]))
    if errors:
        raise Invalid(f"invalid settings for a {kind} channel", errors=errors)
    return clean[0], clean[1]


# --- CRUD ----------------------------------------------------------------------------------


async def get_channel(
    session: AsyncSession, *, tenant_id: uuid.UUID, channel_id: uuid.UUID
) -> NotificationChannel:
    """The tenant's channel; another tenant's id is not found."""
    return await crud.get_owned(
        session,
        NotificationChannel,
        tenant_id=tenant_id,
        ident=channel_id,
        what=RESOURCE,
        fresh=True,
    )


async def list_channels(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: ChannelKind | None = None,
    enabled: bool | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[NotificationChannel], str | None]:
    """One page of the tenant's channels (newest first) matching the filters, and a cursor."""
    stmt = where_given(
        _tenant_channels(tenant_id),
        (NotificationChannel.kind, kind),
        (NotificationChannel.enabled, enabled),
    )
    if q:
        stmt = stmt.where(NotificationChannel.name.ilike(f"%{q}%"))
    require_time_cursor(cursor)
    return await fetch_page(
        session,
        stmt,
        order=(NotificationChannel.created_at, NotificationChannel.id),
        cursor=cursor,
        limit=limit,
    )


def snapshot(channel: NotificationChannel, secret_names: list[str]) -> dict[str, Any]:
    """The audited fields: secrets only by name."""
    return {
        "name": channel.name,
        "kind": channel.kind,
        "config": shown_config(channel),
        "write_only_fields_set": secret_names,
        "enabled": channel.enabled,
        "send_resolved": channel.send_resolved,
        "rate_limit_per_minute": channel.rate_limit_per_minute,
    }


NAME = crud.Unique(NotificationChannel, "a channel named {!r} already exists in this tenant")


async def create_channel(
    session: AsyncSession, *, actor: Principal, data: ChannelCreate, box: SecretBox
) -> NotificationChannel:
    config, secrets = validate_settings(data.kind.value, data.config, data.secrets)
    config, hidden = hide(spec(data.kind.value).config_model, config)
    await NAME.ensure_free(session, tenant_id=actor.tenant_id, value=data.name)
    now = utcnow()
    channel = NotificationChannel(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        name=data.name,
        kind=data.kind,
        config=config,
        secrets_encrypted=box.encrypt(pack(secrets, hidden)),
        enabled=data.enabled,
        send_resolved=data.send_resolved,
        rate_limit_per_minute=data.rate_limit_per_minute,
        created_by=actor.id if actor.kind == "user" else None,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    return await crud.insert(
        session,
        actor=actor,
        row=channel,
        kind=AUDIT_TYPE,
        snapshot=lambda c: snapshot(c, sorted(secrets)),
        unique=NAME,
    )


def _merge(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, value in sent.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def update_channel(
    session: AsyncSession,
    *,
    actor: Principal,
    channel_id: uuid.UUID,
    data: ChannelUpdate,
    box: SecretBox,
) -> NotificationChannel:
    channel = await get_channel(session, tenant_id=actor.tenant_id, channel_id=channel_id)
    kind = channel.kind.value
    stored_secrets, stored_hidden = unpack(box.decrypt(channel.secrets_encrypted))
    before = snapshot(channel, sorted(stored_secrets))
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "enabled", "send_resolved", "config", "secrets"):
        if name in changes and changes[name] is None:
            raise invalid("validation-error", ["body", name], f"{name} cannot be null")
    stored_config = {**channel.config, **stored_hidden}  # the real URLs
    sent_secrets = changes.get("secrets") or {}
    config, secrets = validate_settings(
        kind,
        _merge(stored_config, _sent_urls(kind, stored_config, changes.get("config") or {})),
        _merge(stored_secrets, sent_secrets),
    )
    _require_secrets_on_new_host(
        kind, (stored_config, stored_secrets), (config, secrets), stored_secrets, sent_secrets
    )
    config, hidden = hide(spec(kind).config_model, config)
    if "name" in changes:
        await NAME.ensure_free(
            session, tenant_id=actor.tenant_id, value=changes["name"], except_id=channel.id
        )
        channel.name = changes["name"]
    for name in ("enabled", "send_resolved", "rate_limit_per_minute"):
        if name in changes:
            setattr(channel, name, changes[name])
    channel.config = config
    channel.secrets_encrypted = box.encrypt(pack(secrets, hidden))  # under the current key
    channel.revision += 1
    channel.updated_at = utcnow()
    return await crud.save(
        session,
        actor=actor,
        row=channel,
        kind=AUDIT_TYPE,
        before=before,
        snapshot=lambda c: snapshot(c, sorted(secrets)),
        unique=NAME,
    )


def _sent_urls(kind: str, stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """Config changes with a URL sent back as it was shown (masked) replaced by the stored
    URL; a URL that still holds a mask where the stored one has a secret part is refused."""
    out = dict(sent)
    for name in url_fields(spec(kind).config_model):
        value, real = sent.get(name), stored.get(name)
        if not isinstance(value, str) or not isinstance(real, str):
            continue
        if value == masked(real):
            out[name] = real
        elif MASK in value and masked(real) != real:
            raise invalid(
                "validation-error",
                ["body", "config", name],
                "send the whole URL: its credentials, query values and fragment are not shown, "
                "so they cannot be edited in place",
            )
    return out


def destinations(kind: str, config: dict[str, Any], secrets: dict[str, Any]) -> set[str]:
    """The hosts a channel sends to: of its URL fields (config or secret) and an SMTP host."""
    kind_spec = spec(kind)
    hosts = {
        host_of(values[name])
        for model, values in ((kind_spec.config_model, config), (kind_spec.secrets_model, secrets))
        for name in url_fields(model)
        if isinstance(values.get(name), str)
    }
    if isinstance(config.get("host"), str):
        hosts.add(config["host"].lower().rstrip("."))
    return hosts


def _require_secrets_on_new_host(
    kind: str,
    before: tuple[dict[str, Any], dict[str, Any]],
    after: tuple[dict[str, Any], dict[str, Any]],
    stored_secrets: dict[str, Any],
    sent_secrets: dict[str, Any],
) -> None:
    """A change of destination host carries no stored secret: each must be sent again."""
    if destinations(kind, *before) == destinations(kind, *after):
        return
    missing = sorted(name for name, v in stored_secrets.items() if v and name not in sent_secrets)
    if not missing:
        return
    raise Invalid(
        "the destination host changed: send the channel's secrets again (or null to clear one)",
        errors=[
            FieldIssue(
                loc=["body", "secrets", name],
                message="the destination host changed: send this secret again",
                type="missing",
            )
            for name in missing
        ],
    )


async def delete_channel(session: AsyncSession, *, actor: Principal, channel_id: uuid.UUID) -> None:
    """Delete a channel with its pending notifications and delivery log."""
    channel = await get_channel(session, tenant_id=actor.tenant_id, channel_id=channel_id)
    await crud.delete_audited(
        session,
        actor=actor,
        row=channel,
        what=RESOURCE,
        kind=AUDIT_TYPE,
        snapshot=lambda c: snapshot(c, []),
    )


@dataclass(frozen=True, slots=True)
class Rotation:
    channels: int  # channels whose secrets were re-encrypted
    from_previous: int  # of those, the ones that were under a previous key


async def rotate_secrets(session: AsyncSession, *, box: SecretBox) -> Rotation:
    """Re-encrypt the secrets of every channel, in every tenant, under the current key (for
    ``agentdeck secrets rotate``; the only query here across tenants, on purpose).

    The rows stay locked until the caller commits, so a save meanwhile waits. A channel that no
    key decrypts raises ``SecretsUnreadable`` naming it; the caller then commits nothing.
    """
    channels = await session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.secrets_encrypted.is_not(None))
        .order_by(NotificationChannel.id)
        .with_for_update()
    )
    count = from_previous = 0
    for channel in channels:
        if channel.secrets_encrypted is None:  # excluded by the query; for the type checker
            continue
        try:
            channel.secrets_encrypted, was_previous = box.rotate(channel.secrets_encrypted)
        except SecretsUnreadable as exc:
            raise SecretsUnreadable(
                f"the secrets of channel {channel.name!r} ({channel.id}) were encrypted with a "
                "key that is neither the current nor a previous one"
            ) from exc
        count += 1
        from_previous += was_previous
        await record(
            session,
            actor=system_principal(channel.tenant_id),
            action="notification_channel.rotate_secrets",
            resource_type=AUDIT_TYPE,
            resource_id=channel.id,
        )
    await session.flush()
    return Rotation(channels=count, from_previous=from_previous)
