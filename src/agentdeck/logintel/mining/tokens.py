"""Token-level rules of the miner: folding, matching, and what looks like a value."""

from __future__ import annotations

import re

from agentdeck.logintel.mining.masking import WILDCARD

W = WILDCARD
# A run of ``key=value`` context fields made one variable (``tails``): any such run, or none.
# Rendered as ``<*>``; the unit separator cannot occur inside a line's token (it is whitespace).
TAIL = W + "\x1f"
# a ``key=value`` token: a name, then ``=`` (what follows is the value, maybe empty)
_KEY = re.compile(r"[A-Za-z_][\w.\-]*=")
_DIGIT = re.compile(r"\d")
_RUNS = re.compile(r"\d+")
_ALNUM = re.compile(r"[^\W_]")

_OPENERS = "([{<\"'"
_CLOSERS = ")]}>\"'"
_EDGE = "()[]{}<>\"',;:."
_VALUE_EDGE = "()[]{}\"',;:."  # not <>, which are the wildcard's own
_TRAILING = ",;:.)]}"
_KEY_ENDS = "=:{"
# Units that may follow a number and belong to its value (``<*> KB``), lower-cased.
UNITS = frozenset(
    ("b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "bytes")
    + ("ns", "us", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute")
    + ("minutes", "h", "hr", "hrs", "hour", "hours")
)


def _is_unit(token: str) -> bool:
    return len(token) <= 9 and token.rstrip(_TRAILING).lower() in UNITS


def fold(raw: list[str]) -> tuple[list[str], list[str | None]]:
    """Tokens of a masked line with each value made one token, and the raw text of each.

    A value is a run of ``<*>`` tokens together with the unit words that follow it and a
    parenthesised quantity after that: ``<*> bytes (<*> KB)`` is one token ``<*>`` whose raw
    text is kept for rendering. Punctuation after a unit stays on the token: ``<*> KB,`` folds
    into ``<*>,``. A run of values that ends a quoted string is one value (``"GET <*>"``).
    """
    return refold(raw, list(raw))


def refold(raw: list[str], raw_shapes: list[str | None]) -> tuple[list[str], list[str | None]]:
    """``fold`` for tokens that may already hold values (a template that was generalised)."""
    # the common line has nothing to fold: no value follows another value
    pairs = zip(raw[:-1], raw[1:], strict=True)
    if not any(a.endswith(W) and (b.startswith(W) or _is_unit(b)) for a, b in pairs):
        return list(raw), list(raw_shapes)
    tokens: list[str] = []
    shapes: list[str | None] = []
    for tok, shape in zip(raw, raw_shapes, strict=True):
        if tokens:
            last = tokens[-1]
            if last == W and tok == W:
                shapes[-1] = _join(shapes[-1], shape)
                continue
            if last == W and tok.startswith(W) and tok.endswith('"') and is_value(tok):
                tokens[-1] = tok  # the end of a quoted value: one value
                shapes[-1] = tok
                continue
            if last.endswith(W) and _is_unit(tok):
                core = tok.rstrip(_TRAILING)
                shapes[-1] = _join(shapes[-1], shape)
                tokens[-1] = last + tok[len(core) :]
                if len(tokens) > 1 and tokens[-2] == W and tokens[-1] == "(<*>)":
                    tokens.pop()
                    folded = shapes.pop()
                    shapes[-1] = _join(shapes[-1], folded)
                continue
        tokens.append(tok)
        shapes.append(shape)
    return tokens, shapes


def _join(a: str | None, b: str | None) -> str | None:
    return None if a is None or b is None else a + " " + b


def token_matches(pattern: str, token: str) -> bool:
    """``token`` is ``pattern`` or an instance of it.

    Each ``<*>`` stands for one character or more; between brackets or quotes also for none
    (``(<*>)`` covers ``()``), while ``rhost=<*>`` does not cover an empty ``rhost=``.
    """
    if pattern == token:
        return True
    if W not in pattern:
        return False
    parts = pattern.split(W)
    head, tail = parts[0], parts[-1]
    end = len(token) - len(tail)
    if end < len(head) or not token.startswith(head) or not token.endswith(tail):
        return False
    if len(parts) == 2:
        return end > len(head) or (
            bool(head) and bool(tail) and head[-1] in _OPENERS and tail[0] in _CLOSERS
        )
    pos = len(head)
    for part in parts[1:-1]:
        found = token.find(part, pos + 1, end)
        if found < 0:
            return False
        pos = found + len(part)
    return end > pos


def generalise(values: list[str]) -> str:
    """The token that covers all ``values``: their shared key or brackets around ``<*>``."""
    if W in values:
        return W
    first = values[0]
    pre = _common_prefix(values)
    suf = _common_suffix(values)
    # keep a prefix up to a key or bracket end, a suffix of closing punctuation only
    cut = max(first.rfind(c, 0, pre) for c in _KEY_ENDS + _OPENERS)
    head = first[: cut + 1]
    j = len(first)
    while j > len(first) - suf and first[j - 1] in _TRAILING + _CLOSERS:
        if first.endswith(W, 0, j):
            break  # the ``>`` of a wildcard is not a closing bracket
        j -= 1
    tail = first[j:]
    if any(len(v) < len(head) + len(tail) for v in values) or W in head + tail:
        return W
    return head + W + tail


def _common_prefix(values: list[str]) -> int:
    first = values[0]
    end = len(first)
    for v in values[1:]:
        k = 0
        limit = min(end, len(v))
        while k < limit and first[k] == v[k]:
            k += 1
        end = k
    return end


def _common_suffix(values: list[str]) -> int:
    first = values[0]
    end = len(first)
    for v in values[1:]:
        k = 0
        limit = min(end, len(v))
        while k < limit and first[-1 - k] == v[-1 - k]:
            k += 1
        end = k
    return end


def has_key(values: list[str]) -> bool:
    """The values share a ``key=`` / ``key:`` / ``key{`` prefix and differ right after it.

    ``user=root`` and ``user=guest`` are one key's values; ``action:android.intent.action.A``
    and ``action:android.intent.action.B`` share more than a key (names of constants), and
    ``Class::start`` / ``Class::stop`` are methods, not values.
    """
    first = values[0]
    end = _common_prefix(values)
    cut = max(first.rfind(c, 0, end) for c in _KEY_ENDS)
    if cut <= 0 or (first[cut] == ":" and first[cut - 1] == ":"):
        return False
    if any(len(v.rstrip(_TRAILING)) <= cut + 1 for v in values):
        return False  # an empty value (``rhost=``) is a form of its own
    return not any(c.isalnum() for c in first[cut + 1 : end])


def is_value(token: str) -> bool:
    """A token that is a masked value, maybe with punctuation around it (``<*>,``)."""
    return token.strip(_VALUE_EDGE) == W


_stars: dict[str, tuple[str, str] | None] = {}


def star_parts(token: str) -> tuple[str, str] | None:
    """``_star_parts``, cached (templates are matched again and again)."""
    try:
        return _stars[token]
    except KeyError:
        if len(_stars) >= 1 << 16:
            _stars.clear()
        parts = _stars[token] = _star_parts(token)
        return parts


def _star_parts(token: str) -> tuple[str, str] | None:
    """For a value token that may take several tokens of a line: what must start the first of
    them and end the last, else None.

    ``<*>`` takes any run of values; ``<*>"`` or ``<*>),`` one that ends with that punctuation;
    ``tag="<*>",`` a quoted value of several words (``tag="View Lock",``).
    """
    if token == W:
        return "", ""
    head, _, tail = token.partition(W)
    if W in tail or not all(c in _VALUE_EDGE for c in tail):
        return None
    if head and not (head[-1] in "\"'" and tail.startswith(head[-1])):
        return None
    return (head, tail) if head or tail else None


def pure_value(token: str) -> bool:
    """A token of values and punctuation only (``<*>``, ``<*>,<*>``, ``(<*>)``)."""
    return W in token and _ALNUM.search(token) is None


def looks_variable(value: str) -> bool:
    """Shapes that are values whatever their text: masked, paths, bracketed, units."""
    if is_value(value) or "/" in value or "\\" in value:
        return True
    core = value.rstrip(",;:.")
    if len(core) >= 2 and core[0] in _OPENERS and core[-1] in _CLOSERS:
        return True
    return _is_unit(value)


def looks_constant(value: str) -> bool:
    """Words that name an event rather than carry a value: Capitalised, -ed, -ing, and
    ``Class::method`` references."""
    if "::" in value:
        return True
    core = value.strip(_EDGE)
    if not core.isalpha():
        return False
    return core[0].isupper() or core.endswith(("ed", "ing"))


def digits_differ(values: list[str]) -> bool:
    """The values differ only in numbers of two digits or more (``U11`` / ``U01``, not
    ``IPV4`` / ``IPV6``)."""
    if len({_RUNS.sub("0", v) for v in values}) > 1:
        return False
    return all(any(len(run) >= 2 for run in _RUNS.findall(v)) for v in values)


def kinds_differ(values: list[str]) -> bool:
    """Values with masked parts whose words differ (``AuthFail:<*>`` / ``AssocFail:<*>``)."""
    kinds = {v.replace(W, "") for v in values if W in v and not is_value(v)}
    return len(kinds) > 1


def value_pair(a: str, b: str) -> bool:
    """Two tokens at one position that are two values of one variable, not two words."""
    pair = [a, b]
    if is_value(a) or is_value(b) or has_key(pair):
        return True
    if looks_constant(a) or looks_constant(b) or kinds_differ(pair):
        return False
    return digits_differ(pair) or (looks_variable(a) and looks_variable(b))


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


def needed(values: list[str], first: bool, context: int, joined: bool) -> int:
    """How many distinct values a position needs before it is taken as a variable.

    ``first``: the position starts the message; ``context``: the template's other tokens that
    are not bare ``<*>``; ``joined``: making the position ``<*>`` joins it with neighbouring
    ``<*>`` (so a masked value among the values says nothing about this position).
    """
    if context == 0:
        return 1 << 30
    if all(pure_value(v) for v in values):
        return 2
    if first:  # the first word of a message mostly names its event
        return 5 + max(0, 8 - context)
    if has_key(values):
        return 2
    if any(looks_constant(v) for v in values) or kinds_differ(values):
        return 5 + max(0, 3 - context)
    if (
        (not joined and any(is_value(v) for v in values))
        or digits_differ(values)
        or all(looks_variable(v) for v in values)
    ):
        return 2
    return 3 + max(0, 3 - context)


def clear_cache() -> None:
    """Forget the cached token judgements (a benchmark measures a cold start with it)."""
    _stretchy.clear()
    _stars.clear()


def keyed(token: str) -> bool:
    """A ``key=value`` token (or a ``TAIL``, which stands for a run of them)."""
    return token == TAIL or _KEY.match(token) is not None


def run_start(tokens: list[str]) -> int:
    """Where the trailing run of ``key=value`` tokens starts (``len(tokens)`` if none)."""
    t = len(tokens)
    match = _KEY.match
    while t > 0 and match(tokens[t - 1]) is not None:
        t -= 1
    return t
