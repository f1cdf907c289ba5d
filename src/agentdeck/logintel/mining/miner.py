"""The online template miner: one per tenant, one line at a time."""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentdeck.logintel.mining.bounded import remember
from agentdeck.logintel.mining.index import INDEXED_POSITIONS, TemplateIndex, head, newest
from agentdeck.logintel.mining.masking import WILDCARD, ZEROS, kept_digits, mask
from agentdeck.logintel.mining.matching import (
    Cluster,
    SigKey,
    Span,
    generalise_at,
    glob,
    observe,
    sig_keys,
    wild,
)
from agentdeck.logintel.mining.tails import RunCache, Tails
from agentdeck.logintel.mining.tokens import (
    TAIL,
    fold,
    generalise,
    needed,
    pure_value,
    token_matches,
    value_pair,
)

W = WILDCARD
_DIGIT = re.compile(r"\d")
# tokens of a line the miner looks at; the rest of a longer line is one value
MAX_TOKENS = 256
# a shape seen once whose masking keeps digits (``ssh2``): their places are found next time
_ONCE: tuple[int, ...] = (-1,)


@dataclass(frozen=True)
class TemplateInfo:
    """A template as a caller sees it."""

    id: int
    template: str
    count: int


@dataclass
class MinerCounters:
    """Counters a caller publishes as metrics (all only ever grow)."""

    lines: int = 0
    templates_created: int = 0
    templates_merged: int = 0
    templates_evicted: int = 0


class TemplateMiner:
    """Assigns each log message a template id, online; variables become ``<*>``.

    * ``add(line)`` returns the id of the line's template at once (creating or generalising a
      template when needed). An id is stable: a template that generalises keeps its id, and when
      two templates turn out to be one, the older id lives on and the other resolves to it
      (``resolve``; up to ``max_aliases`` merged ids per template).
    * Memory is bounded: at most ``max_templates`` templates (the least recently seen is
      evicted, counted in ``counters.templates_evicted``), two lookup caches of ``cache_size``
      entries each, and only the first ``max_line`` characters of a line are read.
    * ``to_state()`` / ``from_state()`` save and restore a miner as plain JSON-able data.

    Not thread-safe: one miner per tenant, fed by one task at a time.
    """

    def __init__(
        self,
        *,
        max_templates: int = 10_000,
        cache_size: int = 50_000,
        max_line: int = 4_096,
        max_aliases: int = 1_000,
    ) -> None:
        if min(max_templates, cache_size, max_line) < 1 or max_aliases < 0:
            raise ValueError("max_templates, cache_size and max_line must be at least 1")
        self.max_templates = max_templates
        self.cache_size = cache_size
        self.max_line = max_line
        self.max_aliases = max_aliases
        self.counters = MinerCounters()
        self._clusters: OrderedDict[int, Cluster] = OrderedDict()  # least recently seen first
        # line with digits made 0 -> id, or the positions of the digits masking keeps
        self._by_shape: dict[bytes, int | tuple[int, ...]] = {}
        self._by_kept: dict[tuple[bytes, str], int] = {}  # (shape, kept digits) -> id
        self._by_mask: dict[str, int] = {}  # masked line -> id
        # their keys, oldest first (``bounded.remember``)
        self._shape_order: deque[bytes] = deque()
        self._kept_order: deque[tuple[bytes, str]] = deque()
        self._mask_order: deque[str] = deque()
        self._alias: dict[int, int] = {}  # merged id -> the live id it went into
        self._index = TemplateIndex()
        self._tails = Tails(cache_size)  # key sequences of context-field runs, per prefix
        self._runs = RunCache(cache_size)  # prefix before such a run -> template
        self._next_id = 1
        # templates looked at to place lines the caches did not know (a diagnostic, not
        # saved): at most a few ``index.MAX_SCAN`` per such line
        self.scanned = 0
        self._shape_hits = self._shape_misses = 0  # how often the shape cache answers

    # -- the public surface

    def add(self, line: str) -> int:
        """The id of the template ``line`` belongs to (created or generalised if needed)."""
        self.counters.lines += 1
        if len(line) > self.max_line:
            line = line[: self.max_line]
        # Masking treats all digits alike: lines of one shape (digits made 0) mask alike, but
        # for the digits masking keeps (``ssh2``). A shape maps to its template, or to where
        # those digits are, and the shape with them to the template: no masking at all.
        form = line.encode("utf-8", "surrogatepass").translate(ZEROS)
        entry = self._by_shape.get(form)
        if entry is not None and entry is not _ONCE:
            cluster = self._by_form(line, form, entry)
            if cluster is not None:
                return cluster.id
        return self._add(line, form, entry)

    def add_many(self, lines: Iterable[str]) -> list[int]:
        """``add`` for each line, in order, for a batch: a line whose message (the text before
        a trailing run of ``key=value`` fields) is known takes its template without the run
        being masked (``RunCache.find``): the answer ``add`` gives, but that this lookup comes
        before the one by masked line (``add`` looks it up first, but the two agree: a masked
        line placed before its message's run became one variable went into a template the
        run's template absorbed)."""
        ids = []
        runs = self._runs
        clusters = self._clusters
        for line in lines:
            self.counters.lines += 1
            if len(line) > self.max_line:
                line = line[: self.max_line]
            form = line.encode("utf-8", "surrogatepass").translate(ZEROS)
            entry = self._by_shape.get(form)
            if entry is not None and entry is not _ONCE:
                cluster = self._by_form(line, form, entry)
                if cluster is not None:
                    ids.append(cluster.id)
                    continue
            if runs and (len(line) < 2 * MAX_TOKENS or _fits(line)):
                cid = runs.find(line, form)
                if cid is not None:
                    cluster = clusters.get(cid) or self._live(cid)
                    if cluster is not None and cluster.tokens[-1] == TAIL:
                        cluster.count += 1
                        clusters.move_to_end(cluster.id)
                        ids.append(cluster.id)
                        continue
            ids.append(self._add(line, form, entry))
        return ids

    def _by_form(self, line: str, form: bytes, entry: int | tuple[int, ...]) -> Cluster | None:
        """The template the shape cache knows for the line, counted as seen."""
        if isinstance(entry, int):
            cid: int | None = entry
        else:
            cid = self._by_kept.get((form, "".join([line[i] for i in entry])))
        cluster = None if cid is None else self._clusters.get(cid) or self._live(cid)
        if cluster is not None:
            self._shape_hits += 1
            cluster.count += 1
            self._clusters.move_to_end(cluster.id)
        return cluster

    def _add(self, line: str, form: bytes, entry: int | tuple[int, ...] | None) -> int:
        """``add`` for a line the shape cache did not know."""
        masked = mask(line)
        cid = self._by_mask.get(masked)
        cluster = None if cid is None else self._live(cid)
        if cluster is None:
            raw = masked.split() or [""]
            if len(raw) > MAX_TOKENS:  # bounded work per line: the rest is one value
                raw = [*raw[: MAX_TOKENS - 1], W]
            cid = self._runs.get(raw)  # a known message before a run of context fields
            cluster = None if cid is None else self._live(cid)
            if cluster is None or cluster.tokens[-1] != TAIL:
                cluster = self._place(raw)
                remember(self._by_mask, self._mask_order, masked, cluster.id, self.cache_size)
        if entry is None or entry is _ONCE:
            if _DIGIT.search(masked) is None:
                entry = ()
            elif entry is None and self._shapes_rarely_repeat():
                entry = _ONCE  # where kept digits are is worth finding once this one repeats
            else:
                entry = kept_digits(line, masked)
            if entry is not None:
                self._shape_misses += 1
                cached = entry or cluster.id
                remember(self._by_shape, self._shape_order, form, cached, self.cache_size)
        if isinstance(entry, tuple) and entry and entry is not _ONCE:
            key = (form, "".join([line[i] for i in entry]))
            remember(self._by_kept, self._kept_order, key, cluster.id, self.cache_size)
        cluster.count += 1
        self._clusters.move_to_end(cluster.id)
        self._evict()
        return cluster.id

    def _shapes_rarely_repeat(self) -> bool:
        """Whether most lines lately had a shape never seen before (ids in every line)."""
        if self._shape_misses >= 1 << 16:
            self._shape_misses >>= 1
            self._shape_hits >>= 1
        return self._shape_misses >= 1_000 and self._shape_hits * 4 < self._shape_misses

    def resolve(self, cid: int) -> int:
        """The current id of an id handed out before (itself unless it was merged away)."""
        return self._alias.get(cid, cid)

    def template(self, cid: int) -> str | None:
        """The template of an id (resolved through merges), None once evicted."""
        cluster = self._live(cid)
        return None if cluster is None else cluster.render()

    def templates(self) -> list[TemplateInfo]:
        """Every live template, the most frequent first."""
        infos = [TemplateInfo(c.id, c.render(), c.count) for c in self._clusters.values()]
        infos.sort(key=lambda t: (-t.count, t.id))
        return infos

    def __len__(self) -> int:
        return len(self._clusters)

    # -- persistence

    def to_state(self) -> dict[str, Any]:
        """Everything needed to go on later, as JSON-able data (lookup caches are rebuilt)."""
        from agentdeck.logintel.mining.state import dump

        return dump(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        """A miner that continues where the one that wrote ``state`` stopped."""
        from agentdeck.logintel.mining.state import load

        return load(cls, state)

    def _restore(self, c: Cluster) -> None:
        """Put back a saved template (in least-recently-seen order)."""
        if c.id < 1 or c.id in self._clusters or c.id in self._alias:
            raise ValueError(f"template id {c.id} repeated or invalid")
        self._clusters[c.id] = c
        self._index.add(c)
        for alias in c.aliases:
            self._alias[alias] = c.id
        self._next_id = max(self._next_id, c.id + 1, *(a + 1 for a in c.aliases))

    # -- placing a line the caches do not know

    def _live(self, cid: int) -> Cluster | None:
        return self._clusters.get(self._alias.get(cid, cid))

    def _match(self, tokens: list[str], exclude: int = 0) -> tuple[Cluster, list[Span]] | None:
        """The most specific template that covers ``tokens`` (the oldest among equals)."""
        words: bool | None = None  # whether the line has a word (computed when needed)
        best: tuple[int, int, Cluster, list[Span]] | None = None
        candidates = self._index.candidates(tokens)
        self.scanned += len(candidates)
        for cid in candidates:
            if cid == exclude:
                continue
            c = self._clusters[cid]
            specific = c.words
            if specific == 0:  # a template of values only takes lines of values only
                if words is None:
                    words = not all(map(pure_value, tokens))
                if words:
                    continue
            if len(c.tokens) != len(tokens) and not c.stars:
                continue  # without value tokens a template only takes lines of its length
            spans = glob(c.tokens, tokens)
            if spans is not None and (best is None or (specific, -cid) > best[:2]):
                best = (specific, -cid, c, spans)
        return None if best is None else (best[2], best[3])

    def _place(self, raw: list[str]) -> Cluster:
        line, shapes = fold(raw)
        tokens = line
        found = self._match(tokens)
        if found is None:
            keep = self._tails.rewrite(tokens)
            if keep is not None:  # a run of context fields: one variable
                tokens, shapes = [*tokens[:keep], TAIL], [*shapes[:keep], None]
                found = self._match(tokens)
        keys = None
        if found is None:
            keys = sig_keys(tokens)
            if self._values(tokens) or self._family(tokens, keys):
                found = self._match(tokens)
        if found is not None:
            c, spans = found
            observe(c, spans, shapes)
            self._runs.put(raw, line, c)
            return c
        c = Cluster(self._next_id, tokens, list(shapes))
        self._next_id += 1
        self.counters.templates_created += 1
        self._clusters[c.id] = c
        self._index.add(c, keys)
        if c.stars:  # a template with values may cover older, longer ones
            self._absorb_covered(c, new=True)
            c = self._live(c.id) or c
        self._runs.put(raw, line, c)
        return c

    def _values(self, tokens: list[str]) -> bool:
        """Generalise the template that differs from this line only in values.

        A template of the same length qualifies when every position where they differ holds
        two values of one variable (``value_pair``), the first token agrees (unless both are
        values) and at most half of the tokens differ.
        """
        n = len(tokens)
        best: tuple[int, int, Cluster, list[int]] | None = None
        candidates = self._index.alike(n, tokens[0])
        if head(tokens[0]) != W:
            candidates += self._index.alike(n, W)
        self.scanned += len(candidates)
        most = n // 2  # at most half of the tokens may differ
        for cid in candidates:
            c = self._clusters[cid]
            diff = []
            for k, t in enumerate(c.tokens):
                tok = tokens[k]
                if t != tok and t != W and not token_matches(t, tok):
                    diff.append(k)
                    if len(diff) > most:
                        break
            else:
                if not diff or (best is not None and (len(diff), cid) > best[:2]):
                    continue
                if all(
                    value_pair(c.tokens[k], tokens[k])
                    and (k or pure_value(c.tokens[k] + tokens[k]))
                    for k in diff
                ):
                    best = (len(diff), cid, c, diff)
        if best is None:
            return False
        _, _, c, diff = best
        self._index.remove(c)
        for k in reversed(diff):
            generalise_at(c, k, generalise([c.tokens[k], tokens[k]]))
        self._index.add(c)
        self._absorb_subsumed(c)
        return True

    def _family(self, tokens: list[str], keys: list[SigKey]) -> bool:
        """Merge the templates that differ from this line at one position that looks variable."""
        for p, key in enumerate(keys[:INDEXED_POSITIONS]):
            group = self._index.sigs.get(key)
            if not group or tokens[p] == TAIL:
                continue
            sig = wild(tokens, p)
            members = []
            at = []
            ids = sorted(newest(group))
            self.scanned += len(ids)
            for cid in ids:
                member = self._clusters[cid]
                q = member.indexed[2].get(key)
                if q is None or member.tokens[q] == TAIL:
                    continue
                if wild(member.tokens, q) == sig:  # else a hash collision
                    members.append(member)
                    at.append(q)
            if not members:
                continue
            values = [m.tokens[q] for m, q in zip(members, at, strict=True)] + [tokens[p]]
            lengths = {len(tokens), len(sig)} | {len(m.tokens) for m in members}
            context = sum(t != W for t in sig)
            if len(set(values)) < needed(values, p == 0, context, len(lengths) > 1):
                continue
            survivor = members[0]  # the oldest
            self._index.remove(survivor)
            generalise_at(survivor, at[0], generalise(values))
            self._index.add(survivor)
            for other in members[1:]:
                survivor = self._join(survivor, other, glob(survivor.tokens, other.tokens))
            self._absorb_subsumed(survivor)
            return True
        return False

    def _join(self, general: Cluster, other: Cluster, spans: list[Span] | None) -> Cluster:
        """Merge ``other`` into ``general``'s template; the older id survives and is returned."""
        self._index.remove(general)
        self._index.remove(other)
        if spans is not None:
            observe(general, spans, other.shapes)
        if other.id < general.id:
            other.tokens, other.shapes = general.tokens, general.shapes
            survivor, gone = other, general
        else:
            survivor, gone = general, other
        survivor.count += gone.count
        del self._clusters[gone.id]
        moved = [*gone.aliases, gone.id]
        for alias in moved:
            self._alias[alias] = survivor.id
        survivor.aliases.extend(moved)
        self._trim_aliases(survivor)
        self.counters.templates_merged += 1
        self._index.add(survivor)
        return survivor

    def _absorb_subsumed(self, c: Cluster) -> None:
        """After ``c`` was generalised: join a template that covers it, and those it covers."""
        found = self._match(c.tokens, exclude=c.id)
        if found is not None:
            c = self._join(found[0], c, found[1])
        self._absorb_covered(c)

    def _absorb_covered(self, c: Cluster, *, new: bool = False) -> None:
        """Join ``c`` with the templates it covers (a new or generalised template may).

        A new template covers no other of its own length: the line it came from would have
        taken that one's values instead (``_values``).
        """
        n = len(c.tokens)
        # those it covers hold all its words (look among the holders of its rarest), or start
        # like it at the same length
        covered = set(self._index.holders(c.indexed[1]))
        if not new:
            covered.update(self._index.alike(n, c.tokens[0]))
        self.scanned += len(covered)
        # (a run of context fields may be empty)
        shortest = n - 1 if c.tokens[-1] == TAIL else n + 1 if new else n
        for cid in sorted(covered):
            other = self._clusters.get(cid)
            if other is None or other is c or len(other.tokens) < shortest:
                continue
            spans = glob(c.tokens, other.tokens)
            if spans is not None:
                c = self._join(c, other, spans)

    # -- indexes, aliases and eviction

    def _trim_aliases(self, c: Cluster) -> None:
        extra = len(c.aliases) - self.max_aliases
        if extra > 0:
            for alias in c.aliases[:extra]:
                del self._alias[alias]
            del c.aliases[:extra]

    def _evict(self) -> None:
        while len(self._clusters) > self.max_templates:
            victim = self._clusters[next(iter(self._clusters))]
            self._index.remove(victim)
            del self._clusters[victim.id]
            for alias in victim.aliases:
                del self._alias[alias]
            self.counters.templates_evicted += 1


def _fits(line: str) -> bool:
    """Whether the line has at most ``MAX_TOKENS`` tokens (else the rest is one value)."""
    return len(line.split()) <= MAX_TOKENS
