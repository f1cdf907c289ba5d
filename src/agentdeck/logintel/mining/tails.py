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

import re
from collections import deque
from dataclasses import dataclass, field

from agentdeck.logintel.mining.bounded import remember
from agentdeck.logintel.mining.masking import WILDCARD, mask_cached, mask_shaped
from agentdeck.logintel.mining.matching import Cluster, glob
from agentdeck.logintel.mining.tokens import TAIL, pure_value, run_start, token_matches

# distinct key sequences a prefix must show before its runs become one variable
MIN_SEQUENCES = 4

# ``RunCache.find``: the trailing run of a raw line, found on its shape read backwards
# (``str.split``'s ASCII whitespace). Its keys are letters, ``_``, ``.``, ``-``, which masking
# leaves as they are (a digit in a key ends the run here, and the line takes the full path)
# but for a key that starts with a boolean word (``true.x=``: the lookbehinds) or holds a
# MAC address of letters (``_MAC_KEY``).
_SPACE = rb" \t\n\r\f\v\x1c-\x1f"
_NO_BOOL = rb"(?<![.=](?:eurt|eurT|EURT|llun|LLUN|enoN))(?<![.=](?:eslaf|eslaF|ESLAF))"
_RUN_REVERSED = re.compile(
    rb"[%s]*(?:[^%s]*=[A-Za-z_.\-]*[A-Za-z_]%s(?:[%s]+|\Z))*" % (_SPACE, _SPACE, _NO_BOOL, _SPACE)
)
_MAC_KEY = re.compile(rb"-[A-Fa-f]{2}-[A-Fa-f]{2}-[A-Fa-f]{2}-[A-Fa-f]{2}-")
# whitespace ``str.split`` splits on beyond ASCII
_WIDE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z_.\-]*=")
# a template's lead (``RunCache``) -> ``_lead_pattern``
_leads: dict[tuple[str, ...], tuple[re.Pattern[str], tuple[str, ...]]] = {}


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
        self._order: deque[tuple[str, ...]] = deque()  # its keys, oldest first

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
            remember(self._prefixes, self._order, prefix, _Prefix({keys}), self.limit)
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
        self._order: deque[str] = deque()  # its keys, oldest first

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

    def find(self, line: str, form: bytes) -> int | None:
        """``get`` for a line not yet masked (``form``: its shape), the same answer: the line's
        trailing run is found on its text and only the tokens before it are masked (through
        ``mask_shaped``: once per shape); the run's values are never looked at, but for the
        tokens a template's lead must match. None when unknown, or when the run's keys may
        not survive masking as they are (then the line takes the full path)."""
        if not self._entries:
            return None
        cut = len(form) - _RUN_REVERSED.match(form[::-1]).end()  # type: ignore[union-attr]
        if cut < len(form) and _MAC_KEY.search(form, cut) is not None:
            return None
        if line.isascii():
            end = cut
        elif _WIDE_SPACE.search(line) is not None:
            return None
        else:
            end = len(form[:cut].decode("utf-8", "surrogatepass"))
        masked = mask_shaped(line, end, form[:cut])
        entry = None if masked is None else self._entries.get(masked)
        if entry is None:
            return None
        cid, lead = entry
        if lead and not _lead_matches(lead, line, end):
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
        entry = (c.id, tuple(c.tokens[n - 1 - k : n - 1]))
        remember(self._entries, self._order, " ".join(raw[:t]), entry, self.limit)


def _lead_matches(lead: tuple[str, ...], line: str, start: int) -> bool:
    """Whether the run from ``line[start:]`` starts with tokens that ``lead`` matches, as
    masked: ``_lead_pattern`` checks what it can on the raw text, the rest is masked."""
    try:
        pattern, rest = _leads[lead]
    except KeyError:
        if len(_leads) >= 1 << 12:
            _leads.clear()
        pattern, rest = _leads[lead] = _lead_pattern(lead)
    found = pattern.match(line, start)
    if found is None:
        return False
    if rest:
        tokens = found.groups()
        for p, tok in zip(rest, tokens, strict=True):
            if not token_matches(p, mask_cached(tok)):
                return False
    return True


def _lead_pattern(lead: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A pattern for the raw text of a run's first tokens, and the lead's tokens it leaves to
    be compared masked (one group each). Masking keeps a literal token (it came from masking)
    and the key of ``key=<*>`` (a key ``_RUN_REVERSED`` takes), and a value is never empty."""
    parts = []
    rest = []
    for p in lead:
        if WILDCARD not in p:
            parts.append(re.escape(p) + r"(?!\S)")
        elif p.endswith("=" + WILDCARD) and _SIMPLE_KEY.fullmatch(p[: -len(WILDCARD)]):
            parts.append(re.escape(p[: -len(WILDCARD)]) + r"\S+")
        else:
            parts.append(r"(\S+)")
            rest.append(p)
    return re.compile(r"\s*" + r"\s+".join(parts)), tuple(rest)


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
