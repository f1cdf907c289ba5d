"""A URL field type for channel settings (http(s), with a host, never a host the outbound
policy always refuses), and the parts of such a URL that are secret.

A token often rides in a URL: ``https://user:pass@host/...`` or ``...?token=...``. The user
information, the query values and the fragment are secret: answers and audit entries show
them masked (``https://***@host/path?token=***``), the real URL is kept encrypted with the
channel's other secrets.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, BaseModel, Field

from agentdeck.outbound import OutboundPolicy, split_http_url

MASK = "***"


def check_host(host: str) -> str:
    """Refuse a host the outbound policy refuses whatever it allows (a literal metadata,
    link-local or reserved address, a metadata host name)."""
    refused = OutboundPolicy().refuses_always(host)
    if refused is not None:
        raise ValueError(f"this host is never reached: {refused.summary}")
    return host


def _check(url: str) -> str:
    check_host(split_http_url(url).hostname or "")
    return url


HttpUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_check)]


def url_fields(model: type[BaseModel]) -> list[str]:
    """The fields of a channel kind's model that are :data:`HttpUrl`."""
    return [
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, AfterValidator) and m.func is _check for m in info.metadata)
    ]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


def masked(url: str) -> str:
    """The URL with its user information, query values and fragment shown as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{item.partition('=')[0]}={MASK}" if item else item for item in parts.query.split("&")
    )
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def has_secret_parts(url: str) -> bool:
    return masked(url) != url


# --- the real URLs beside the channel's secrets -----------------------------------------------

#: Key of the encrypted secrets document that holds the real value of masked config URLs.
HIDDEN_KEY = "_config_urls"


def hide(model: type[BaseModel], config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``config`` with its URL fields masked, and the real values of those that changed."""
    shown = dict(config)
    hidden: dict[str, str] = {}
    for name in url_fields(model):
        value = config.get(name)
        if isinstance(value, str) and has_secret_parts(value):
            shown[name] = masked(value)
            hidden[name] = value
    return shown, hidden


def shown(model: type[BaseModel], config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as answers and audit entries show it (also for rows stored unmasked)."""
    return hide(model, config)[0]


def pack(secrets: dict[str, Any], hidden: dict[str, str]) -> dict[str, Any]:
    """The document to encrypt: the kind's secrets and the real config URLs."""
    return {**secrets, HIDDEN_KEY: hidden} if hidden else dict(secrets)


def unpack(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The kind's secrets and the real config URLs of a decrypted document."""
    secrets = {k: v for k, v in document.items() if k != HIDDEN_KEY}
    hidden = document.get(HIDDEN_KEY)
    return secrets, dict(hidden) if isinstance(hidden, dict) else {}
