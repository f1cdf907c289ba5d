"""Field extraction for ``| json`` and ``| logfmt`` (the LogQL subset's parsers)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_FIELD_SANITISE = re.compile(r"[^A-Za-z0-9_]")


def sanitise_field(name: str) -> str:
    """A parsed field's name as filters see it: characters other than ``[A-Za-z0-9_]`` → ``_``."""
    return _FIELD_SANITISE.sub("_", name)


def extract_fields(parser: str, message: str) -> dict[str, str]:
    """The fields ``| json`` or ``| logfmt`` finds in ``message`` (none when it is no such line).

    json: the top-level object's members; nested objects flatten with ``_`` (``{"a":{"b":1}}``
    gives ``a_b``); strings unescaped, numbers as written, booleans ``true``/``false``, null
    ``""``; arrays are skipped. logfmt: ``key=value`` and ``key="quoted \\"value\\""`` pairs, a
    bare ``key`` being ``""``. Names are sanitised (:func:`sanitise_field`); the last of equal
    names wins.
    """
    if parser == "json":
        return _json_fields(message)
    if parser == "logfmt":
        return _logfmt_fields(message)
    raise ValueError(f"unknown parser {parser!r}")


def _json_fields(message: str) -> dict[str, str]:
    if not message.lstrip().startswith("{"):
        return {}
    try:
        parsed = json.loads(message, parse_int=str, parse_float=str, parse_constant=str)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    out: dict[str, str] = {}
    _flatten(parsed, "", out)
    return out


def _flatten(obj: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in obj.items():
        name = prefix + sanitise_field(key)
        if isinstance(value, dict):
            _flatten(value, name + "_", out)
        elif isinstance(value, str):
            out[name] = value
        elif value is True:
            out[name] = "true"
        elif value is False:
            out[name] = "false"
        elif value is None:
            out[name] = ""
        # lists are skipped


def _logfmt_fields(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    text = message
    n = len(text)
    pos = 0
    while pos < n:
        while pos < n and text[pos] <= " ":
            pos += 1
        start = pos
        while pos < n and text[pos] > " " and text[pos] not in '="':
            pos += 1
        key = text[start:pos]
        if not key:
            pos += 1  # a stray "=" or quote: skip it
            continue
        if pos < n and text[pos] == "=":
            pos += 1
            if pos < n and text[pos] == '"':
                value, pos = _logfmt_quoted(text, pos)
            else:
                begin = pos
                while pos < n and text[pos] > " ":
                    pos += 1
                value = text[begin:pos]
        else:
            value = ""
        out[sanitise_field(key)] = value
    return out


def _logfmt_quoted(text: str, pos: int) -> tuple[str, int]:
    """The quoted value starting at ``pos`` (a quote), unescaped, and the position after it."""
    out: list[str] = []
    i = pos + 1
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "u" and i + 6 <= n:
                digits = text[i + 2 : i + 6]
                try:
                    out.append(chr(int(digits, 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out), n  # unterminated: the rest of the line
