"""Channel secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with HKDF
from the server's ``secret_key``. Former secret keys (``notify.previous_secret_keys``) still
decrypt, so the server secret can be rotated; every save re-encrypts with the current key, and
``agentdeck secrets rotate`` re-encrypts every channel at once."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentdeck.secret_key import secret_key
from agentdeck.settings import Settings

_SALT = b"agentdeck/notify"
_INFO = b"notification-channel-secrets/v1"


class SecretsUnreadable(Exception):
    """The stored secrets were encrypted under a key this server does not have."""


def derive_key(secret: str) -> bytes:
    """The Fernet key (url-safe base64 of 32 bytes) for a server secret."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


class SecretBox:
    """Encrypts with the current key, decrypts with the current or a previous one."""

    def __init__(self, current: str, previous: list[str] | None = None) -> None:
        self._current = Fernet(derive_key(current))
        former = [Fernet(derive_key(p)) for p in previous or []]
        self._fernet = MultiFernet([self._current, *former])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(
            secret_key(settings),
            [k.get_secret_value() for k in settings.notify.previous_secret_keys],
        )

    def encrypt(self, values: dict[str, Any]) -> str | None:
        if not values:
            return None
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretsUnreadable(
                "the channel's secrets were encrypted with a key this server does not know"
            ) from exc
        return data

    def rotate(self, token: str) -> tuple[str, bool]:
        """The same secrets encrypted under the current key, and whether ``token`` was under a
        previous one; raises ``SecretsUnreadable`` when no key decrypts it."""
        try:
            self._current.decrypt(token.encode())
            was_previous = False
        except InvalidToken:
            was_previous = True
        try:
            return self._fernet.rotate(token.encode()).decode(), was_previous
        except InvalidToken as exc:
            raise SecretsUnreadable(
                "the channel's secrets were encrypted with a key this server does not know"
            ) from exc
