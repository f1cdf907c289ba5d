"""The lookups a miner keeps over its templates (all bounded by the number of templates)."""

from __future__ import annotations

from typing import Any

from agentdeck.logintel.mining.masking import WILDCARD
from agentdeck.logintel.mining.matching import UNINDEXED, Cluster, SigKey, sig_keys
from agentdeck.logintel.mining.tokens import TAIL, pure_value, star_parts

W = WILDCARD
# a long line's template is indexed by its first words only (bounded work per template)
INDEXED_POSITIONS = 32


class TemplateIndex:
    """Templates by first word, by every word, by (length, first token) and by signature
    (a hash of the template with one position made ``<*>``, for every position)."""

    def __init__(self) -> None:
        self.first: dict[str, set[int]] = {}  # templates starting with a word, by that word
        self.inner: dict[str, set[int]] = {}  # the others, by their first word ("" if none)
        self.has: dict[str, set[int]] = {}  # every word -> templates holding it
        self.heads: dict[tuple[int, str], set[int]] = {}  # (length, first token) -> templates
        self.sigs: dict[SigKey, set[int]] = {}  # signature -> templates

    def candidates(self, tokens: list[str]) -> set[int]:
        """Templates that may match ``tokens``: by first word, or by their first word inside."""
        out: set[int] = set()
        if tokens[0] != W:
            out.update(self.first.get(tokens[0], ()))
        inner = self.inner
        for tok in set(tokens):
            ids = inner.get(tok)
            if ids:
                out.update(ids)
        out.update(inner.get("", ()))
        return out

    def alike(self, length: int, first: str) -> set[int]:
        """Templates of ``length`` tokens whose first token is ``first`` (values alike)."""
        return self.heads.get((length, head(first)), set())

    def holders(self, words: set[str]) -> set[int]:
        """Templates holding the rarest of ``words`` (a superset of those holding all)."""
        sets = [self.has.get(word) or set() for word in words]
        rarest: set[int] = min(sets, key=len) if sets else set()
        return set(rarest)

    def add(self, c: Cluster, keys: list[SigKey] | None = None) -> None:
        """Index ``c`` (``keys``: its signature keys when already computed)."""
        toks = c.tokens
        words = [t for t in toks if W not in t]
        valued = [t for t in toks if W in t]
        pure = [t for t in valued if pure_value(t)]
        c.words = len(toks) - len(pure)
        c.stars = sum(t == TAIL or star_parts(t) is not None for t in valued)
        if words and toks[0] == words[0]:
            first = (self.first, toks[0])
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
                has[word] = {cid}
            else:
                ids.add(cid)
        signatures = self.sigs
        for sig in sigs:
            members = signatures.get(sig)
            if members is None:
                signatures[sig] = {cid}
            else:
                members.add(cid)

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


def _add(index: dict[Any, set[int]], key: object, cid: int) -> None:
    ids = index.get(key)
    if ids is None:
        index[key] = {cid}
    else:
        ids.add(cid)


def _discard(index: dict[Any, set[int]], key: object, cid: int) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(cid)
        if not ids:
            del index[key]
