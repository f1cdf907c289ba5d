"""RE2 for the LogQL subset: the wrapped patterns every engine runs, and their validation."""

from __future__ import annotations

import functools
from typing import Any

import re2  # type: ignore[import-untyped]

#: Longest regex accepted (RE2 also refuses programs above its memory budget).
MAX_REGEX_CHARS = 4_096

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def anchored_regex(pattern: str) -> str:
    """The pattern every engine searches with for a whole-value match (matchers, fields)."""
    return f"^(?s:{pattern})$"


def line_regex(pattern: str) -> str:
    """The pattern every engine searches with for a line filter (any part of the line)."""
    return f"(?s:{pattern})"


@functools.lru_cache(maxsize=512)
def compiled_regex(wrapped: str) -> Any:
    return re2.compile(wrapped, _RE2_OPTIONS)


def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern`` (alone and wrapped), or None when it compiles."""
    if len(pattern) > MAX_REGEX_CHARS:
        return f"longer than {MAX_REGEX_CHARS} characters"
    if "\x00" in pattern:
        return "contains a NUL character"
    if _has_new_named_group(pattern):  # RE2 releases before 2023 (old ClickHouse) lack it
        return "write named groups as (?P<name>...)"
    for candidate in (pattern, anchored_regex(pattern)):
        try:
            compiled_regex(candidate)
        except re2.error as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            return str(detail)
    return None


def _has_new_named_group(pattern: str) -> bool:
    """Does ``pattern`` use ``(?<name>...)`` outside escapes and character classes?"""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a literal member
            if pattern.startswith("^]", i + 1):
                i += 2
            elif pattern.startswith("]", i + 1):
                i += 1
        elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            return True
        i += 1
    return False
