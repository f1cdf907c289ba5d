"""Render the settings reference (docs/configuration.md) from the ``Settings`` model.

``python -m agentdeck.docs_config`` prints it; ``make docs-config`` writes the file, and a test
fails when the committed file is not what this renders.
"""

from __future__ import annotations

import enum
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from agentdeck.settings import Settings

ENV_PREFIX = "AGENTDECK_"
NESTED = "__"
SECRET_DEFAULT = "(unset: generated on first start with SQLite; required otherwise)"

HEADER = f"""# Configuration

<!-- Generated from agentdeck.settings by `make docs-config`; do not edit by hand. -->

agentdeck reads its settings from environment variables, then from an env file, then falls
back to the defaults below. Every variable starts with `{ENV_PREFIX}`; a setting inside a
section joins the section and the name with `{NESTED}`, e.g. `{ENV_PREFIX}SERVER{NESTED}PORT=9000`.

- The env file is `.env` in the working directory, or the file named by `AGENTDECK_ENV_FILE`.
  Environment variables win over the file.
- Booleans accept `true`/`false` (also `1`/`0`, `yes`/`no`).
- Lists are comma-separated: `{ENV_PREFIX}SERVER{NESTED}CORS_ORIGINS=https://a.example,https://b.example`.
- Rate limits use the [limits](https://limits.readthedocs.io/) notation (`60/minute`); join
  several with `;` (`60/minute;1000/hour`): the tightest one decides.
- With `{ENV_PREFIX}ENVIRONMENT=production`, and with a PostgreSQL state database (where every
  replica must use the same key), the server refuses to start unless `{ENV_PREFIX}SECRET_KEY`
  is set; in production to a random value of at least 32 characters
  (e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`). Unset on SQLite, a
  random key is generated on the first start and kept in `secret.key` in the data directory
  (readable by its owner only); `agentdeck` commands use the same file. Rotating the key:
  [operations.md](operations.md#rotating-the-secret-key).
"""


#: Prose after a section's table, by section path.
NOTES = {
    "outbound": """### Outbound policy

Every connection the server makes on behalf of a user goes through one policy: scrapes of
scrape targets, notification channels (webhooks, chat services, PagerDuty, ntfy, Telegram and
the SMTP host of email channels) and agent health probes. A user who may create these (a
developer adds scrape targets and health URLs, an admin adds channels) could otherwise make the
server reach what only it can reach: a cloud metadata service, its own `/metrics`, a database
or an admin interface on the private network.

The host of each URL is resolved and **every** address it resolves to is checked; the
connection then goes to an address that was checked (the URL, `Host` header and TLS server
name keep the host name), so a second DNS answer cannot swap it. In order:

1. always refused, whatever the lists say: cloud metadata services (`169.254.169.254`,
   `169.254.170.2`, `fd00:ec2::254`, `100.100.100.200`, `metadata.google.internal`, ...),
   link-local (`169.254.0.0/16`, `fe80::/10`), `0.0.0.0/8`, `::`, multicast and reserved
   ranges;
2. refused: an address or host name on `deny`;
3. allowed: an address or host name on `allow` (a name on `allow` may resolve to loopback or
   private addresses);
4. loopback refused unless `allow_loopback`; private and other non-public addresses
   (`10/8`, `172.16/12`, `192.168/16`, `100.64/10`, `fc00::/7`, documentation ranges, ...)
   refused unless `allow_private`;
5. the public internet allowed.

IPv6 forms that carry an IPv4 address (`::ffff:169.254.169.254`, NAT64, 6to4) are checked as
that address too, and old spellings of IPv4 addresses (`2130706433`, `0177.0.0.1`) as the
address they spell. Only `http` and `https` are fetched. A scrape follows at most
`max_redirects` redirects, each hop checked again; channels and health probes follow none.
Health probes also take the entries of `realtime.health_probe_allow` (by default loopback and
the private networks, where a self-hosted fleet's agents answer).

A destination that is always refused is rejected when a scrape target or channel is saved
(422 naming the field); the check that counts is the one at connection time. A refused
connection fails that scrape or delivery with `blocked by outbound policy: <category>`;
a refused delivery is not retried. Error texts anyone can read are categories (`connection
failed`, `timed out`, `HTTP 500`); admins also see the cause (`last_error_detail`,
`error_detail`) with at most 200 escaped characters of the remote answer.

`agentdeck serve --demo` sets `AGENTDECK_OUTBOUND__ALLOW_LOOPBACK=true` unless it is set.
Channels honour `HTTP(S)_PROXY`: the proxy's own address must then be allowed, and the proxy
resolves destination names itself (the policy still checks literal addresses and the lists of
names). For agents and targets on your private network, allow their ranges or names
(`AGENTDECK_OUTBOUND__ALLOW=10.20.0.0/16,*.agents.internal`) rather than `allow_private`.
""",
}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        inner = " or ".join(_type_name(a) for a in args)
        return f"{inner} (optional)" if len(args) < len(get_args(annotation)) else inner
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return f"list of {_type_name(item)}s (comma-separated)"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
        if issubclass(annotation, SecretStr):
            return "secret string"
        if issubclass(annotation, bool):
            return "boolean"
        if issubclass(annotation, int):
            return "integer"
        if issubclass(annotation, str):
            return "string"
        if issubclass(annotation, Path):
            return "path"
        return annotation.__name__
    return str(annotation)


def _bounds(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if isinstance(value, SecretStr):
        return "(empty)" if not value.get_secret_value() else "(set)"
    if value is None and SecretStr in get_args(field.annotation):
        return SECRET_DEFAULT
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if isinstance(value, list):
        return f"`{','.join(map(str, value))}`" if value else "(empty)"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        if _is_model(field.annotation):
            continue
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        if bounds:
            kind = f"{kind}, {bounds}"
        cells = [f"`{prefix}{name.upper()}`", kind, _default(field), field.description or ""]
        yield "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(model: type[BaseModel], prefix: str) -> list[str]:
    rows = list(_rows(model, prefix))
    if not rows:
        return []
    return ["| Variable | Type | Default | Description |", "|---|---|---|---|", *rows, ""]


def _sections(model: type[BaseModel], prefix: str, path: str) -> Iterator[list[str]]:
    for name, field in model.model_fields.items():
        sub = field.annotation
        if not _is_model(sub):
            continue
        assert isinstance(sub, type) and issubclass(sub, BaseModel)
        dotted = f"{path}.{name}" if path else name
        sub_prefix = f"{prefix}{name.upper()}{NESTED}"
        about = (sub.__doc__ or "").strip().splitlines()
        lines = [f"## `{dotted}`", ""]
        if about and not about[0].startswith(sub.__name__ + "("):
            lines += [about[0], ""]
        lines += _table(sub, sub_prefix)
        if dotted in NOTES:
            lines += [NOTES[dotted]]
        yield lines
        yield from _sections(sub, sub_prefix, dotted)


def render(model: type[BaseModel] = Settings) -> str:
    """The settings reference as Markdown."""
    lines = [HEADER, "## General", "", *_table(model, ENV_PREFIX)]
    for section in _sections(model, ENV_PREFIX, ""):
        lines += section
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
