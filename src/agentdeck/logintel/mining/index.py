"""The lookups a miner keeps over its templates (all bounded by the number of templates).

Every lookup hands back at most ``MAX_SCAN`` templates (the most recently indexed first), so
the work to place one line is bounded whatever the templates are: a stream of ever new shapes
that share their first words costs the same per line as one of a few templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from agentdeck.logintel.mining.masking import WILDCARD
from agentdeck.logintel.mining.matching import UNINDEXED, Bucket, Cluster, SigKey, sig_keys
from agentdeck.logintel.mining.tokens import TAIL, pure_value, star_parts

W = WILDCARD
# a long line's template is indexed by its first words only (bounded work per template)
INDEXED_POSITIONS = 32
# templates starting with words are found by up to this many of them (a prefix tree)
DEPTH = 3
# the most templates one lookup hands back (the most recently indexed first)
MAX_SCAN = 64
ANY_LENGTH = -1  # the length key of templates with value tokens (they take longer lines)


class TemplateIndex:
    """Templates by their leading words and length, by first word inside (those that start
    with a value), by every word, by (length, first token) and by signature (a hash of the
    template with one position made ``<*>``, for every position)."""

    def __init__(self) -> None:
        # (first words up to DEPTH, length or ANY_LENGTH) -> templates starting with them
        self.lead: dict[tuple[tuple[str, ...], int], Bucket] = {}
        self.inner: dict[str, Bucket] = {}  # the others, by their first word ("" if none)
        self.has: dict[str, Bucket] = {}  # every word -> templates holding it
        self.heads: dict[tuple[int, str], Bucket] = {}  # (length, first token) -> templates
        self.sigs: dict[SigKey, Bucket] = {}  # signature -> templates

    def candidates(self, tokens: list[str]) -> list[int]:
        """Templates that may match ``tokens`` (at most ``MAX_SCAN``): those whose leading
        words the line starts with (the longest such prefix first), then those starting with
        a value that hold one of the line's words."""
        out: list[int] = []
        lead, m = self.lead, len(tokens)
        for d in range(min(DEPTH, m), 0, -1):
            prefix = tuple(tokens[:d])
            for key in ((prefix, m), (prefix, ANY_LENGTH)):
                ids = lead.get(key)
                if ids and _take(out, ids):
                    return out
        inner = self.inner
        for tok in dict.fromkeys(tokens):
            ids = inner.get(tok)
            if ids and _take(out, ids):
                return out
        ids = inner.get("")
        if ids:
            _take(out, ids)
        return out

    def alike(self, length: int, first: str) -> list[int]:
        """Templates of ``length`` tokens whose first token is ``first`` (values alike), at
        most ``MAX_SCAN``."""
        return newest(self.heads.get((length, head(first))))

    def holders(self, words: Iterable[str]) -> list[int]:
        """Templates holding the rarest of ``words`` (a superset of those holding all), at
        most ``MAX_SCAN``."""
        sets = [self.has.get(word) or {} for word in words]
        return newest(min(sets, key=len)) if sets else []

    def add(self, c: Cluster, keys: list[SigKey] | None = None) -> None:
        """Index ``c`` (``keys``: its signature keys when already computed)."""
        toks = c.tokens
        words = [t for t in toks if W not in t]
        valued = [t for t in toks if W in t]
        pure = [t for t in valued if pure_value(t)]
        c.words = len(toks) - len(pure)
        c.stars = sum(t == TAIL or star_parts(t) is not None for t in valued)
        if words and toks[0] == words[0]:
            d = 1
            while d < DEPTH and d < len(toks) and W not in toks[d]:
                d += 1
            first: tuple[dict[Any, Bucket], Any] = (
                self.lead,
                (tuple(toks[:d]), ANY_LENGTH if c.stars else len(toks)),
            )
        else:
            first = (self.inner, words[0] if words else "")
        if keys is None:
            keys = sig_keys(toks)
        sigs = {
            keys[q]: q for q in range(min(len(toks), INDEXED_POSITIONS) - 1, -1, -1) if toks[q] != W
        }
        key = (len(toks), W if pure and toks[0] is pure[0] else toks[0])
        c.indexed = (first, set(words[:INDEXED_POSITIONS]), sigs, key)
        cid = c.id
        _add(first[0], first[1], cid)
        _add(self.heads, key, cid)
        has = self.has
        for word in c.indexed[1]:
            ids = has.get(word)
            if ids is None:
                has[word] = {cid: None}
            else:
                ids[cid] = None
        signatures = self.sigs
        for sig in sigs:
            ids = signatures.get(sig)
            if ids is None:
                signatures[sig] = {cid: None}
            else:
                ids[cid] = None

    def remove(self, c: Cluster) -> None:
        """Take ``c`` out (before its tokens change, or when it goes)."""
        first, words, sigs, key = c.indexed
        _discard(first[0], first[1], c.id)
        _discard(self.heads, key, c.id)
        for word in words:
            _discard(self.has, word, c.id)
        for sig in sigs:
            _discard(self.sigs, sig, c.id)
        c.indexed = UNINDEXED


def head(token: str) -> str:
    """The key of a first token for finding templates that differ only in values."""
    return W if pure_value(token) else token


def newest(ids: Bucket | None) -> list[int]:
    """At most ``MAX_SCAN`` of ``ids``, the most recently indexed first."""
    if not ids:
        return []
    if len(ids) <= MAX_SCAN:
        return list(ids)
    return list(islice(reversed(ids), MAX_SCAN))


def _take(out: list[int], ids: Bucket) -> bool:
    """Add ``ids`` to ``out`` up to ``MAX_SCAN`` in all; whether ``out`` is full."""
    room = MAX_SCAN - len(out)
    if len(ids) <= room:
        out.extend(ids)
    else:
        out.extend(islice(reversed(ids), room))
    return len(out) >= MAX_SCAN


def _add(index: dict[Any, Bucket], key: object, cid: int) -> None:
    ids = index.get(key)
    if ids is None:
        index[key] = {cid: None}
    else:
        ids[cid] = None


def _discard(index: dict[Any, Bucket], key: object, cid: int) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.pop(cid, None)
        if not ids:
            del index[key]
