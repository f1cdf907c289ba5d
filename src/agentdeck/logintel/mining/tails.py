"""Trailing ``key=value`` runs: context fields whose set of keys varies from line to line.

Services often end a message with context fields (``caller=x.go:12 pod=api-7 attempt=2``)
whose number, order and keys change from line to line while the message before them stays the
same. Each combination of keys would otherwise found a template of its own. So, per *prefix*
(the line's masked tokens before its trailing run of ``key=value`` tokens), the miner remembers
the distinct key sequences of the runs it has seen; once a prefix has shown ``MIN_SEQUENCES``
of them, the prefix is *open*: the keys every run of it started with are kept (``model=<*>``)
and the rest of the run becomes one variable, the ``TAIL`` token, which takes any run of
``key=value`` tokens, or none. A prefix needs a word (not only values); a run that always has
the same keys (``logname= uid=<*> ... rhost=<*>``), or two or three key sequences, stays part
of its templates, keys and all.

Once a line has been placed in a template that ends in a ``TAIL``, its prefix is remembered
(``RunCache``): a later line with the same masked prefix, and a run that starts with what the
template kept, belongs to the same template without being matched again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentdeck.logintel.mining.matching import Cluster, glob
from agentdeck.logintel.mining.tokens import TAIL, pure_value, run_start, token_matches

# distinct key sequences a prefix must show before its runs become one variable
MIN_SEQUENCES = 4


def _key(token: str) -> str:
    return token[: token.index("=") + 1]


@dataclass
class _Prefix:
    seen: set[tuple[str, ...]] = field(default_factory=set)  # key sequences, until open
    lead: tuple[str, ...] | None = None  # once open: the keys every run started with


class Tails:
    """The key sequences seen per prefix (at most ``limit`` prefixes, the oldest forgotten)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._prefixes: dict[tuple[str, ...], _Prefix] = {}

    def __len__(self) -> int:
        return len(self._prefixes)

    def rewrite(self, tokens: list[str]) -> int | None:
        """Note the line's key sequence; if its prefix is open, how many of its tokens to keep
        before a ``TAIL`` (None: keep the line as it is)."""
        t = run_start(tokens)
        if t == len(tokens):
            return None  # no run (a template ending in a TAIL takes such a line as it is)
        prefix = tuple(tokens[:t])
        if all(map(pure_value, prefix)):
            return None  # no word before the run: nothing says which message it is
        keys = tuple(_key(tok) for tok in tokens[t:])
        entry = self._prefixes.get(prefix)
        if entry is None:
            if len(self._prefixes) >= self.limit:
                del self._prefixes[next(iter(self._prefixes))]
            self._prefixes[prefix] = _Prefix({keys})
            return None
        if entry.lead is None:
            entry.seen.add(keys)
            if len(entry.seen) < MIN_SEQUENCES:
                return None
            lead = min(entry.seen)
            for seq in entry.seen:
                lead = lead[: _common(lead, seq)]
            entry.lead, entry.seen = lead, set()
        else:
            entry.lead = entry.lead[: _common(entry.lead, keys)]
        return t + len(entry.lead)


class RunCache:
    """Masked prefix of a line (before its trailing ``key=value`` run) -> the template ending
    in a ``TAIL`` that took such a line, and the template tokens its run started with (at most
    ``limit`` entries, the oldest forgotten)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[str, tuple[int, tuple[str, ...]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, raw: list[str]) -> int | None:
        """The id of the template a line of masked tokens ``raw`` belongs to, if known."""
        if not self._entries:
            return None
        t = run_start(raw)
        entry = self._entries.get(" ".join(raw[:t]))
        if entry is None:
            return None
        cid, lead = entry
        if len(raw) - t < len(lead):
            return None
        for k, pattern in enumerate(lead):
            if not token_matches(pattern, raw[t + k]):
                return None
        return cid

    def put(self, raw: list[str], tokens: list[str], c: Cluster) -> None:
        """Remember that ``c`` took the line ``raw`` (``tokens``: as folded), when its ``TAIL``
        took the line's run after tokens matched one for one."""
        n = len(c.tokens)
        if c.tokens[-1] != TAIL:
            return
        spans = glob(c.tokens, tokens)
        if spans is None:
            return
        t = run_start(raw)
        begin = len(tokens) - (len(raw) - t)  # the run in folded tokens (folding ends before)
        k = spans[-1][0] - begin  # tokens of the run before the TAIL
        if k < 0 or any(spans[n - 1 - k + i] != (begin + i, begin + i + 1) for i in range(k)):
            return
        if len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
        self._entries[" ".join(raw[:t])] = (c.id, tuple(c.tokens[n - 1 - k : n - 1]))


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
