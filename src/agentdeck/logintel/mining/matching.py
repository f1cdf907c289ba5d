"""Templates and how a line's tokens match one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentdeck.logintel.mining.masking import WILDCARD
from agentdeck.logintel.mining.tokens import (
    TAIL,
    keyed,
    refold,
    star_parts,
    stretchy,
    token_matches,
)

W = WILDCARD
Span = tuple[int, int]
SigKey = tuple[int, int]
# where the miner's indexes hold a template: (the index by leading words or first word inside,
# its key there), words, signatures (each with its position), (length, first token)
Bucket = dict[int, None]  # template ids, in the order they were indexed
Indexed = tuple[tuple[dict[Any, Bucket], Any], set[str], dict[SigKey, int], tuple[int, str]]
UNINDEXED: Indexed = (({}, ""), set(), {}, (0, ""))


@dataclass
class Cluster:
    """One template: its tokens (a value, however many words, is one token) and counters."""

    id: int
    tokens: list[str]
    shapes: list[str | None]  # per token: the raw text it always had, None once it varied
    count: int = 0
    aliases: list[int] = field(default_factory=list)  # ids merged into this one, oldest first
    words: int = 0  # tokens with some text, not only values (kept up by the miner's index)
    stars: int = 0  # value tokens (that may take several tokens of a line)
    indexed: Indexed = field(default=UNINDEXED, repr=False, compare=False)

    def render(self) -> str:
        return " ".join(
            (W if tok == TAIL else tok) if shape is None else shape
            for tok, shape in zip(self.tokens, self.shapes, strict=True)
        )


def glob(template: list[str], tokens: list[str]) -> list[Span] | None:
    """Match ``tokens`` against ``template``, where a value token takes one token or more.

    A value token (``star_parts``) is ``<*>``, or ``<*>`` with closing punctuation (``<*>"``,
    ``<*>,``) whose span must then end on a token ending the same way, or a quoted value
    (``tag="<*>",``). It takes a second or further token only where ``stretchy`` allows it
    (tokens that look like values, not words; between quotes, anything); any other token
    holding ``<*>`` (``uid=<*>``) matches its instances. A ``TAIL`` (last) takes the rest
    when it is a run of ``key=value`` tokens, or nothing. Returns, per template token, the span
    of ``tokens`` it took, or None. Greedy, backtracking on the last value token only.
    """
    n, m = len(template), len(tokens)
    if n > m and (n > m + 1 or template[-1] != TAIL):
        return None
    spans: list[Span] = []
    i = j = 0
    star = -1  # template index of the last value token
    while j < m:
        if i < n:
            pattern = template[i]
            if pattern == TAIL:
                if i == n - 1 and all(map(keyed, tokens[j:])):
                    del spans[i:]
                    spans.append((j, m))
                    i, j = n, m
                    continue
                parts = None
            else:
                parts = star_parts(pattern)
            if parts is not None:
                end = _span_end(pattern, parts, tokens, j, j)
                if end is not None:
                    del spans[i:]
                    spans.append((j, end))
                    star = i
                    i += 1
                    j = end
                    continue
            elif token_matches(pattern, tokens[j]):
                del spans[i:]
                spans.append((j, j + 1))
                i += 1
                j += 1
                continue
        if star < 0:
            return None
        pattern = template[star]
        start, end = spans[star]
        longer = _span_end(pattern, star_parts(pattern) or ("", ""), tokens, start, end)
        if longer is None:
            return None
        del spans[star:]
        spans.append((start, longer))
        i = star + 1
        j = longer
    if i == n - 1 and template[i] == TAIL:  # an empty run
        del spans[i:]
        spans.append((m, m))
        i = n
    return spans if i == n else None


def _span_end(
    pattern: str, parts: tuple[str, str], tokens: list[str], start: int, k: int
) -> int | None:
    """The end of the shortest span from ``start`` that holds token ``k`` and that the value
    token ``pattern`` (``parts``: its head and tail) can take."""
    head, tail = parts
    if k == start:
        if token_matches(pattern, tokens[k]):
            return k + 1
        k += 1
    if not tokens[start].startswith(head):
        return None
    quoted = bool(head)
    for last in range(k, len(tokens)):
        if not quoted and not stretchy(tokens[last]):
            return None
        if tokens[last].endswith(tail):
            return last + 1
    return None


def sig_keys(tokens: list[str]) -> list[SigKey]:
    """Per position ``p``, a hash of ``wild(tokens, p)`` (of its left and right parts)."""
    n = len(tokens)
    whole = tuple(tokens)
    if n <= 16:  # hashing slices is cheapest for short lines
        pre = [hash(whole[:i]) for i in range(n + 1)]
        suf = [hash(whole[i:]) for i in range(n + 1)]
    else:  # and chained hashes (linear) for long ones
        pre = [0] * (n + 1)
        for i, tok in enumerate(whole):
            pre[i + 1] = hash((pre[i], tok))
        suf = [0] * (n + 1)
        for i in range(n - 1, -1, -1):
            suf[i] = hash((whole[i], suf[i + 1]))
    keys = []
    for p in range(n):
        left = p - 1 if p > 0 and whole[p - 1] == W else p
        right = p + 2 if p + 1 < n and whole[p + 1] == W else p + 1
        keys.append((pre[left], suf[right]))
    return keys


def wild(tokens: list[str], p: int) -> tuple[str, ...]:
    """``tokens`` with position ``p`` made a bare ``<*>`` (joined with ``<*>`` neighbours)."""
    left = tokens[:p]
    right = tokens[p + 1 :]
    if left and left[-1] == W:
        left = left[:-1]
    if right and right[0] == W:
        right = right[1:]
    return (*left, W, *right)


def generalise_at(c: Cluster, q: int, token: str) -> None:
    """Make position ``q`` of ``c`` the (more general) ``token``, folding values again."""
    c.tokens[q] = token
    c.shapes[q] = None
    if token == W:
        c.tokens, c.shapes = refold(c.tokens, c.shapes)


def observe(c: Cluster, spans: list[Span], shapes: Sequence[str | None]) -> None:
    """Forget the raw text of a token once a line shows it in another form."""
    for k, (start, end) in enumerate(spans):
        seen = c.shapes[k]
        if seen is None:
            continue
        parts = shapes[start:end]
        if None in parts or " ".join(p for p in parts if p is not None) != seen:
            c.shapes[k] = None
