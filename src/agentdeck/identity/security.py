"""Password hashing (argon2 via pwdlib), JWT access tokens (PyJWT), opaque tokens and API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash

from agentdeck.identity.roles import Role

JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "agentdeck"
API_KEY_PREFIX = "adk_"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


def dummy_verify() -> None:
    """Spend the same time as a real check, so unknown users are not told apart by timing."""
    _hasher().verify("not-the-password", _dummy_hash())


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    expires_at: datetime


class InvalidToken(Exception):
    """The token is malformed, forged, expired or uses a disallowed algorithm."""


def create_access_token(
    *, user_id: uuid.UUID, tenant_id: uuid.UUID, role: Role, secret: str, ttl_seconds: int
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=ttl_seconds)
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "role": role.value,
        "aud": JWT_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM), expires


def decode_access_token(token: str, *, secret: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            options={"require": ["exp", "sub", "tid", "role", "aud"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(payload["sub"]),
            tenant_id=uuid.UUID(payload["tid"]),
            role=Role(payload["role"]),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def successor_token(token: str, *, secret: str) -> str:
    """The refresh token that replaces ``token`` when it is rotated.

    Derived (HMAC under the server secret) rather than random, so a second presentation of
    ``token`` inside the reuse grace can be answered with the same successor although only its
    hash is stored. Without the secret it cannot be computed from ``token``.
    """
    mac = hmac.new(secret.encode(), b"refresh-successor\0" + token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class NewApiKey:
    plaintext: str
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    secret = secrets.token_urlsafe(32)
    plaintext = API_KEY_PREFIX + secret
    return NewApiKey(plaintext=plaintext, prefix=plaintext[:12], key_hash=sha256_hex(plaintext))
