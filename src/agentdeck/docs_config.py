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
    if isinstance(value, SecretStr) or (value is None and SecretStr in get_args(field.annotation)):
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
