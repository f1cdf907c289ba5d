"""Token-level rules of the miner: folding, matching, and what looks like a value."""

from __future__ import annotations

import re

from agentdeck.logintel.mining.masking import WILDCARD

W = WILDCARD
_DIGIT = re.compile(r"\d")

_OPENERS = "([{<\"'"
_CLOSERS = ")]}>\"'"
_EDGE = "()[]{}<>\"',;:."
_TRAILING = ",;:.)]}"
_KEY_ENDS = "=:({[<"
# Units that may follow a number and belong to its value (``<*> KB``), lower-cased.
UNITS = frozenset(
    ("b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "bytes")
    + ("ns", "us", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute")
    + ("minutes", "h", "hr", "hrs", "hour", "hours")
)


def _is_unit(token: str) -> bool:
    return token.rstrip(_TRAILING).lower() in UNITS


def fold(raw: list[str]) -> tuple[list[str], list[str]]:
    """Tokens of a masked line with each value made one token, and the raw text of each.

    A value is a run of ``<*>`` tokens together with the unit words that follow it and a
    parenthesised quantity after that: ``<*> bytes (<*> KB)`` is one token ``<*>`` whose raw
    text is kept for rendering. Punctuation after a unit stays on the token: ``<*> KB,`` folds
    into ``<*>,``.
    """
    tokens: list[str] = []
    shapes: list[str] = []
    for tok in raw:
        if tokens:
            last = tokens[-1]
            if last == W and (tok == W or tok == "(<*>)"):
                shapes[-1] += " " + tok
                continue
            if last.endswith(W) and _is_unit(tok):
                core = tok.rstrip(_TRAILING)
                shapes[-1] += " " + tok
                tokens[-1] = last + tok[len(core) :]
                if len(tokens) > 1 and tokens[-2] == W and tokens[-1] == "(<*>)":
                    tokens.pop()
                    folded = shapes.pop()
                    shapes[-1] += " " + folded
                continue
        tokens.append(tok)
        shapes.append(tok)
    return tokens, shapes


def token_matches(pattern: str, token: str) -> bool:
    """``token`` is ``pattern`` or an instance of it (each ``<*>`` standing for 0+ chars)."""
    if pattern == token:
        return True
    if W not in pattern:
        return False
    parts = pattern.split(W)
    head, tail = parts[0], parts[-1]
    end = len(token) - len(tail)
    if end < len(head) or not token.startswith(head) or not token.endswith(tail):
        return False
    pos = len(head)
    for part in parts[1:-1]:
        found = token.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def generalise(values: list[str]) -> str:
    """The token that covers all ``values``: their shared key or brackets around ``<*>``."""
    if W in values:
        return W
    first = values[0]
    pre = suf = len(first)
    for v in values[1:]:
        k = 0
        limit = min(pre, len(v))
        while k < limit and first[k] == v[k]:
            k += 1
        pre = k
        k = 0
        limit = min(suf, len(v))
        while k < limit and first[-1 - k] == v[-1 - k]:
            k += 1
        suf = k
    # keep a prefix up to a key or bracket end, a suffix of closing punctuation only
    cut = max(first.rfind(c, 0, pre) for c in _KEY_ENDS + _OPENERS)
    head = first[: cut + 1]
    j = len(first)
    while j > len(first) - suf and first[j - 1] in _TRAILING + _CLOSERS:
        j -= 1
    tail = first[j:]
    if any(len(v) < len(head) + len(tail) for v in values) or W in head + tail:
        return W
    return head + W + tail


def has_key(values: list[str]) -> bool:
    """The values share a non-empty ``key=`` / ``name:`` / ``call(`` prefix."""
    first = values[0]
    end = len(first)
    for v in values[1:]:
        k = 0
        limit = min(end, len(v))
        while k < limit and first[k] == v[k]:
            k += 1
        end = k
    return max(first.rfind(c, 0, end) for c in _KEY_ENDS) > 0


def looks_variable(value: str) -> bool:
    """Shapes that are values whatever their text: masked, paths, bracketed, units."""
    if W in value or "/" in value or "\\" in value:
        return True
    core = value.rstrip(",;:.")
    if len(core) >= 2 and core[0] in _OPENERS and core[-1] in _CLOSERS:
        return True
    return _is_unit(value)


def looks_constant(value: str) -> bool:
    """Words that name an event rather than carry a value: Capitalised, -ed, -ing."""
    core = value.strip(_EDGE)
    if not core.isalpha():
        return False
    return core[0].isupper() or core.endswith(("ed", "ing"))


_stretchy: dict[str, bool] = {}


def stretchy(token: str) -> bool:
    """A token a ``<*>`` may take beside another: a value, not a word."""
    known = _stretchy.get(token)
    if known is None:
        if len(_stretchy) >= 1 << 16:
            _stretchy.clear()
        known = _stretchy[token] = (
            W in token or _DIGIT.search(token) is not None or looks_variable(token)
        )
    return known
