"""The server's secret key: the configured one, or a random one kept in the data directory.

The key signs access tokens and encrypts channel secrets. ``secret_key(settings)`` is the one
place that decides which key is in effect; the app resolves it once when it starts
(``with_secret_key``) and the ``agentdeck`` commands that need it do the same, so the server and
the command line always agree.

Without ``AGENTDECK_SECRET_KEY``, a SQLite deployment (one process) gets a random key on its
first start, written to ``<data_dir>/secret.key`` (mode 0600) and read by every later start.
Several replicas share a PostgreSQL database and must share a key too, so there a configured
key is required; production requires one already (see ``Settings``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from agentdeck.settings import MIN_SECRET_KEY_LENGTH, Settings

KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """No usable secret key: the server must not start."""


def key_file(settings: Settings) -> Path:
    """Where a generated key is kept."""
    return settings.data_dir / KEY_FILE_NAME


def secret_key(settings: Settings) -> str:
    """The key in effect: the configured one, else the data directory's (made on first use).

    Raises ``SecretKeyError`` when none is configured and the database is not SQLite.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if make_url(settings.database.url).get_backend_name() != "sqlite":
        raise SecretKeyError(
            "AGENTDECK_SECRET_KEY must be set when the state database is not SQLite: every "
            "replica signs and checks tokens and encrypts channel secrets with it, so they must "
            "share one. Generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    return _read_or_create(key_file(settings))


def with_secret_key(settings: Settings) -> Settings:
    """``settings`` with the key in effect filled in (the same object when one is configured)."""
    if settings.secret_key is not None:
        return settings
    return settings.model_copy(update={"secret_key": SecretStr(secret_key(settings))})


def _read(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SecretKeyError(
            f"the key file {path} holds fewer than {MIN_SECRET_KEY_LENGTH} characters; "
            "restore it from a backup or set AGENTDECK_SECRET_KEY"
        )
    return key


def _read_or_create(path: Path) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written in full under a private name, then linked into place: a process starting at the
    # same time either wins the link or reads the winner's complete file, never half of one.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read(path)
