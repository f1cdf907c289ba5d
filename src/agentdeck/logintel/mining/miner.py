"""The online template miner."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentdeck.logintel.mining.masking import WILDCARD, ZEROS, mask
from agentdeck.logintel.mining.tokens import (
    digits_differ,
    fold,
    generalise,
    has_key,
    is_value,
    kinds_differ,
    looks_constant,
    looks_variable,
    pure_value,
    refold,
    star_suffix,
    stretchy,
    token_matches,
    value_pair,
)

W = WILDCARD
Span = tuple[int, int]
_DIGIT = re.compile(r"\d")


@dataclass
class Cluster:
    """One template: its tokens (a value, however many words, is one token) and counters."""

    id: int
    tokens: list[str]
    shapes: list[str | None]  # per token: the raw text it always had, None once it varied
    count: int = 0
    words: int = 0  # tokens without <*> (kept up to date by the miner's index)
    stars: int = 0  # value tokens (that may take several tokens of a line)
    indexed: tuple[tuple[dict[str, set[int]], str], set[str], list[tuple[int, int]]] = field(
        default=(({}, ""), set(), []), repr=False, compare=False
    )  # where the miner's indexes hold it

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
    of ``tokens`` it took, or None.
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


def _sig_keys(tokens: list[str]) -> list[tuple[int, int]]:
    """Per position, a hash of ``_wild(tokens, p)``, computed for all positions in O(n)."""
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


def _wild(tokens: list[str], p: int) -> tuple[str, ...]:
    """``tokens`` with position ``p`` made a bare ``<*>`` (joined with ``<*>`` neighbours)."""
    left = tokens[:p]
    right = tokens[p + 1 :]
    if left and left[-1] == W:
        left = left[:-1]
    if right and right[0] == W:
        right = right[1:]
    return (*left, W, *right)


@dataclass
class MinerCounters:
    """Counters a caller publishes as metrics."""

    lines: int = 0
    templates_created: int = 0
    templates_merged: int = 0
    templates_evicted: int = 0


class TemplateMiner:
    """Assigns each line a template id online; see the package documentation."""

    def __init__(self, *, max_templates: int = 10_000, max_cached_keys: int = 100_000) -> None:
        if max_templates < 1:
            raise ValueError("max_templates must be at least 1")
        self.max_templates = max_templates
        self.max_cached_keys = max_cached_keys
        self.counters = MinerCounters()
        self.clusters: OrderedDict[int, Cluster] = OrderedDict()  # least recently seen first
        self._by_shape: dict[bytes, int] = {}  # line with digits made 0 -> id
        self._by_mask: dict[str, int] = {}  # masked line -> id
        self._alias: dict[int, int] = {}  # merged id -> the id it went into
        self._first: dict[str, set[int]] = {}  # templates starting with a word, by that word
        self._inner: dict[str, set[int]] = {}  # the others, by their first word ("" if none)
        self._has: dict[str, set[int]] = {}  # every word -> templates holding it
        # templates by (a hash of) their form with one word made <*>, for every word
        self._sigs: dict[tuple[int, int], set[int]] = {}
        self._next_id = 1

    # -- the per-line path

    def add(self, line: str) -> int:
        """The id of the template ``line`` belongs to (created or generalised if needed)."""
        self.counters.lines += 1
        # Masking treats all digits alike, so a line whose masked form keeps no digit has the
        # same template as every line of its shape (digits made 0): one lookup, no masking.
        form = line.encode("utf-8", "surrogatepass").translate(ZEROS)
        cid = self._by_shape.get(form)
        if cid is not None:
            cluster = self.clusters.get(cid) or self._live(cid)
            if cluster is not None:
                cluster.count += 1
                self.clusters.move_to_end(cluster.id)
                return cluster.id
        masked = mask(line)
        cid = self._by_mask.get(masked)
        cluster = None if cid is None else self._live(cid)
        if cluster is None:
            cluster = self._place(masked.split())
            _remember(self._by_mask, masked, cluster.id, self.max_cached_keys)
        if _DIGIT.search(masked) is None:
            _remember(self._by_shape, form, cluster.id, self.max_cached_keys)
        cluster.count += 1
        self.clusters.move_to_end(cluster.id)
        self._evict()
        return cluster.id

    def _live(self, cid: int) -> Cluster | None:
        cluster = self.clusters.get(cid)
        if cluster is None and cid in self._alias:
            cluster = self.clusters.get(self.resolve(cid))
        return cluster

    def resolve(self, cid: int) -> int:
        """The current id of a template id handed out before (a merge keeps the older id)."""
        root = cid
        while root in self._alias:
            root = self._alias[root]
        while cid != root:  # shorten the chain for the next time
            self._alias[cid], cid = root, self._alias[cid]
        return root

    def template(self, cid: int) -> str | None:
        """The template of an id (resolved through merges), None once evicted."""
        cluster = self.clusters.get(self.resolve(cid))
        return None if cluster is None else cluster.render()

    # -- placing a line the cache does not know

    def _candidates(self, tokens: list[str]) -> set[int]:
        """Templates that may match ``tokens``: by first word, or by their first word inside."""
        out: set[int] = set()
        if tokens[0] != W:
            out.update(self._first.get(tokens[0], ()))
        inner = self._inner
        for tok in set(tokens):
            ids = inner.get(tok)
            if ids:
                out.update(ids)
        out.update(inner.get("", ()))
        return out

    def _match(
        self, tokens: list[str], candidates: set[int] | None = None, exclude: int = 0
    ) -> tuple[Cluster, list[Span]] | None:
        words: bool | None = None  # whether the line has a word (computed when needed)
        best: tuple[int, int, Cluster, list[Span]] | None = None
        if candidates is None:
            candidates = self._candidates(tokens)
        for cid in candidates:
            if cid == exclude:
                continue
            c = self.clusters[cid]
            specific = c.words
            if specific == 0:  # a template of values only takes lines of values only
                if words is None:
                    words = not all(map(stretchy, tokens))
                if words:
                    continue
            if len(c.tokens) != len(tokens) and not c.stars:
                continue  # without value tokens a template only takes lines of its length
            spans = glob(c.tokens, tokens)
            if spans is not None and (best is None or (specific, -cid) > best[:2]):
                best = (specific, -cid, c, spans)
        return None if best is None else (best[2], best[3])

    def _place(self, raw: list[str]) -> Cluster:
        tokens, shapes = fold(raw)
        candidates = self._candidates(tokens)
        found = self._match(tokens, candidates)
        keys = None
        if found is None:
            keys = _sig_keys(tokens)
            if self._values(tokens, candidates) or self._family(tokens, keys):
                found = self._match(tokens)
        if found is not None:
            c, spans = found
            _observe(c, spans, shapes)
            return c
        c = Cluster(self._next_id, tokens, list(shapes))
        self._next_id += 1
        self.counters.templates_created += 1
        self.clusters[c.id] = c
        self._index(c, keys)
        return c

    def _values(self, tokens: list[str], candidates: set[int]) -> bool:
        """Generalise the template that differs from this line only in values.

        A template of the same length qualifies when every position where they differ holds
        two values of one variable (``value_pair``), the first token agrees (unless both are
        values) and at most half of the tokens differ.
        """
        n = len(tokens)
        best: tuple[int, int, Cluster, list[int]] | None = None
        for cid in candidates:
            c = self.clusters[cid]
            if len(c.tokens) != n:
                continue
            diff = []
            for k, (t, tok) in enumerate(zip(c.tokens, tokens, strict=True)):
                if t != W and not token_matches(t, tok):
                    if not value_pair(t, tok) or (k == 0 and not pure_value(t + tok)):
                        break
                    diff.append(k)
            else:
                if diff and 2 * len(diff) <= n and (best is None or len(diff) < best[0]):
                    best = (len(diff), cid, c, diff)
        if best is None:
            return False
        _, _, c, diff = best
        self._unindex(c)
        for k in reversed(diff):
            _generalise_at(c, k, generalise([c.tokens[k], tokens[k]]))
        self._index(c)
        self._absorb_subsumed(c)
        return True

    def _family(self, tokens: list[str], keys: list[tuple[int, int]]) -> bool:
        """Merge the templates that differ from this line at one position that looks variable."""
        for p, key in enumerate(keys):
            group = self._sigs.get(key)
            if not group:
                continue
            sig = _wild(tokens, p)
            members = []
            at = []
            for cid in sorted(group):
                member = self.clusters[cid]
                q = _position(member.tokens, sig)
                if q is not None:  # else a hash collision
                    members.append(member)
                    at.append(q)
            if not members:
                continue
            values = [m.tokens[q] for m, q in zip(members, at, strict=True)] + [tokens[p]]
            lengths = {len(tokens), len(sig)} | {len(m.tokens) for m in members}
            if len(set(values)) < self._needed(values, p, sig, len(lengths) > 1):
                continue
            survivor = members[0]
            self._unindex(survivor)
            _generalise_at(survivor, at[0], generalise(values))
            for other in members[1:]:
                self._absorb(survivor, other, None)
            self._index(survivor)
            self._absorb_subsumed(survivor)
            return True
        return False

    def _needed(self, values: list[str], p: int, sig: tuple[str, ...], joined: bool) -> int:
        """How many distinct values a position needs before it is taken as a variable.

        ``joined``: making the position ``<*>`` joins it with neighbouring ``<*>`` (so a
        masked value among the values says nothing about this position).
        """
        context = sum(t != W for t in sig)
        if context == 0:
            return 1 << 30
        if all(pure_value(v) for v in values):
            return 2
        if p == 0:  # the first word of a message mostly names its event
            return 5 + max(0, 8 - context)
        if any(looks_constant(v) for v in values) or kinds_differ(values):
            needed = 5
        elif (
            (not joined and any(is_value(v) for v in values))
            or has_key(values)
            or digits_differ(values)
            or all(looks_variable(v) for v in values)
        ):
            return 2
        else:
            needed = 3
        return needed + max(0, 3 - context)

    def _absorb(self, into: Cluster, other: Cluster, spans: list[Span] | None) -> None:
        self._unindex(other)
        del self.clusters[other.id]
        self._alias[other.id] = into.id
        into.count += other.count
        if spans is not None:
            _observe(into, spans, other.shapes)
        self.counters.templates_merged += 1

    def _absorb_subsumed(self, c: Cluster) -> None:
        """After ``c`` was generalised: join a template that covers it, or those it covers."""
        found = self._match(c.tokens, exclude=c.id)
        if found is not None:
            general, spans = found
            if general.id < c.id:
                self._absorb(general, c, spans)
                return
            # c keeps its (older) id and takes the general template
            self._unindex(c)
            self._unindex(general)
            _observe(general, spans, c.shapes)
            c.tokens, c.shapes = general.tokens, general.shapes
            self._index(general)
            self._absorb(c, general, None)
            self._index(c)
        word = next((t for t in c.tokens if W not in t), None)
        if word is None:
            return
        changed = False
        for cid in sorted(self._has.get(word, set())):
            if cid == c.id or cid not in self.clusters:
                continue
            other = self.clusters[cid]
            covered = glob(c.tokens, other.tokens)
            if covered is None:
                continue
            if not changed:
                self._unindex(c)
                changed = True
            self._absorb(c, other, covered)
        if changed:
            self._index(c)

    # -- indexes and eviction

    def _index(self, c: Cluster, keys: list[tuple[int, int]] | None = None) -> None:
        toks = c.tokens
        words = [t for t in toks if W not in t]
        c.words = len(words)
        c.stars = sum(star_suffix(t) is not None for t in toks if W in t)
        first = (
            (self._first, toks[0]) if W not in toks[0] else (self._inner, words[0] if words else "")
        )
        if keys is None:
            keys = _sig_keys(toks)
        sigs = [key for tok, key in zip(toks, keys, strict=True) if tok != W]
        c.indexed = (first, set(words), sigs)
        _add(first[0], first[1], c.id)
        for word in c.indexed[1]:
            _add(self._has, word, c.id)
        for key in sigs:
            _add(self._sigs, key, c.id)

    def _unindex(self, c: Cluster) -> None:
        first, words, sigs = c.indexed
        _discard(first[0], first[1], c.id)
        for word in words:
            _discard(self._has, word, c.id)
        for key in sigs:
            _discard(self._sigs, key, c.id)

    def _evict(self) -> None:
        while len(self.clusters) > self.max_templates:
            victim = self.clusters[next(iter(self.clusters))]
            self._unindex(victim)
            del self.clusters[victim.id]
            self.counters.templates_evicted += 1


def _remember(cache: dict[Any, int], key: object, cid: int, limit: int) -> None:
    if len(cache) >= limit:
        del cache[next(iter(cache))]  # the oldest entry
    cache[key] = cid


def _add(index: dict[Any, set[int]], key: object, cid: int) -> None:
    index.setdefault(key, set()).add(cid)


def _discard(index: dict[Any, set[int]], key: object, cid: int) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(cid)
        if not ids:
            del index[key]


def _position(tokens: list[str], sig: tuple[str, ...]) -> int | None:
    """The position of ``tokens`` whose generalisation is ``sig``."""
    return next((q for q in range(len(tokens)) if tokens[q] != W and _wild(tokens, q) == sig), None)


def _generalise_at(c: Cluster, q: int, token: str) -> None:
    """Make position ``q`` of ``c`` the (more general) ``token``, folding values again."""
    c.tokens[q] = token
    c.shapes[q] = None
    if token == W:
        c.tokens, c.shapes = refold(c.tokens, c.shapes)


def _observe(c: Cluster, spans: list[Span], shapes: Sequence[str | None]) -> None:
    """Forget the raw text of a token once a line shows it in another form."""
    for k, (start, end) in enumerate(spans):
        seen = c.shapes[k]
        if seen is None:
            continue
        parts = shapes[start:end]
        if None in parts or " ".join(p for p in parts if p is not None) != seen:
            c.shapes[k] = None
