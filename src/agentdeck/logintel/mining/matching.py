"""Templates and how a line's tokens match one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agentdeck.logintel.mining.masking import WILDCARD
from agentdeck.logintel.mining.tokens import refold, star_suffix, stretchy, token_matches

W = WILDCARD
Span = tuple[int, int]
SigKey = tuple[int, int]
# where the miner's indexes hold a template: (first-word index, its key), words, signatures
Indexed = tuple[tuple[dict[str, set[int]], str], set[str], list[SigKey]]


@dataclass
class Cluster:
    """One template: its tokens (a value, however many words, is one token) and counters."""

    id: int
    tokens: list[str]
    shapes: list[str | None]  # per token: the raw text it always had, None once it varied
    count: int = 0
    aliases: list[int] = field(default_factory=list)  # ids merged into this one, oldest first
    words: int = 0  # tokens without <*> (kept up to date by the miner's index)
    stars: int = 0  # value tokens (that may take several tokens of a line)
    indexed: Indexed = field(default=(({}, ""), set(), []), repr=False, compare=False)

    def render(self) -> str:
        return " ".join(
            tok if shape is None else shape
            for tok, shape in zip(self.tokens, self.shapes, strict=True)
        )


def glob(template: list[str], tokens: list[str]) -> list[Span] | None:
    """Match ``tokens`` against ``template``, where a value token takes one token or more.

    A value token is ``<*>``, or ``<*>`` with closing punctuation (``<*>"``, ``<*>,``), whose
    span must then end on a token ending the same way. It takes a second or further token only
    where ``stretchy`` allows it (tokens that look like values, not words); any other token
    holding ``<*>`` (``uid=<*>``) matches its instances. Returns, per template token, the span
    of ``tokens`` it took, or None. Greedy, backtracking on the last value token only.
    """
    n, m = len(template), len(tokens)
    if n > m:
        return None
    spans: list[Span] = []
    i = j = 0
    star = -1  # template index of the last value token
    while j < m:
        if i < n:
            suffix = star_suffix(template[i])
            if suffix is not None:
                end = _span_end(tokens, j, j, suffix)
                if end is not None:
                    del spans[i:]
                    spans.append((j, end))
                    star = i
                    i += 1
                    j = end
                    continue
            elif token_matches(template[i], tokens[j]):
                del spans[i:]
                spans.append((j, j + 1))
                i += 1
                j += 1
                continue
        if star < 0:
            return None
        start, end = spans[star]
        longer = _span_end(tokens, start, end, star_suffix(template[star]) or "")
        if longer is None:
            return None
        del spans[star:]
        spans.append((start, longer))
        i = star + 1
        j = longer
    return spans if i == n else None


def _span_end(tokens: list[str], start: int, k: int, suffix: str) -> int | None:
    """The end of the shortest span from ``start`` that holds token ``k`` and ends on a token
    ending with ``suffix``, taking only stretchable tokens after its first."""
    m = len(tokens)
    while k < m:
        if k > start and not stretchy(tokens[k]):
            return None
        if tokens[k].endswith(suffix):
            return k + 1
        k += 1
    return None


def sig_keys(tokens: list[str]) -> list[SigKey]:
    """Per position ``p``, a hash of ``wild(tokens, p)``: all positions in O(n)."""
    n = len(tokens)
    pre = [0] * (n + 1)
    for i, tok in enumerate(tokens):
        pre[i + 1] = hash((pre[i], tok))
    suf = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suf[i] = hash((tokens[i], suf[i + 1]))
    keys = []
    for p in range(n):
        left = p - 1 if p > 0 and tokens[p - 1] == W else p
        right = p + 2 if p + 1 < n and tokens[p + 1] == W else p + 1
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


def position(tokens: list[str], sig: tuple[str, ...]) -> int | None:
    """The position of ``tokens`` whose generalisation is ``sig``, if any."""
    return next((q for q in range(len(tokens)) if tokens[q] != W and wild(tokens, q) == sig), None)


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
