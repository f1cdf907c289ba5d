"""PII and secret masking: what leaves the server for an LLM carries placeholders, not values.

A :class:`Masker` lives for one batch. Every value it masks gets a placeholder numbered per kind
in order of first appearance (``<EMAIL_1>``, ``<IP_2>``); the same value always gets the same
placeholder within the batch, so the model can still see that two lines name the same address.
:meth:`Masker.unmask` puts the values back into what the model returned (its description,
explanation and actions), so the UI shows the real ones to the users who may see the logs.

What is masked, in this order (an earlier kind wins where spans overlap):

* ``URL_CREDENTIALS``: the ``user:password`` part of a URL (``https://<URL_CREDENTIALS_1>@host``);
* ``JWT``: three base64url parts, the first two starting ``eyJ`` (a JSON object);
* ``TOKEN``: what follows ``Bearer`` / ``Basic`` / ``Token`` in an authorization;
* ``AWS_KEY``: AWS access key ids (``AKIA``, ``ASIA``… + 16) and the 40-character secret after
  an ``aws_secret_access_key`` name;
* ``API_KEY``: keys with a vendor prefix (``sk-``, ``sk_live_``, ``ghp_``, ``github_pat_``,
  ``xoxb-``, ``AIza``, ``glpat-``) and the value after a secret-sounding name (``password=``,
  ``api_key:``, ``token=``, ``secret=``, ``client_secret``, ``access_token`` …);
* ``EMAIL``;
* ``CARD``: 13–19 digits (spaces or dashes between groups allowed) starting 2–6 (the card
  networks' ranges, so nanosecond and millisecond epoch timestamps, which start with 1, stay)
  and passing the Luhn check;
* ``IP``: IPv6 (validated by :mod:`ipaddress`, so clock times and MAC addresses stay) and IPv4
  (four octets 0–255). A dotted quad right after ``v``/``version`` (``v1.2.3.4``,
  ``version 10.0.19041.1``) is a version and stays; any other valid dotted quad is taken for an
  address (privacy first: ``1.2.3.4`` alone is masked);
* ``PHONE``: an international number (``+`` then 8–15 digits, spaces, dots, dashes or
  parentheses between groups) or a North-American one written with separators
  (``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``). Bare digit runs, dates, times and
  durations stay.

Hashes (hex digests), UUIDs, timestamps, versions with three parts, ports and plain numbers stay.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

URL_CREDENTIALS = "URL_CREDENTIALS"
JWT = "JWT"
TOKEN = "TOKEN"
AWS_KEY = "AWS_KEY"
API_KEY = "API_KEY"
EMAIL = "EMAIL"
CARD = "CARD"
IP = "IP"
PHONE = "PHONE"

KINDS = (URL_CREDENTIALS, JWT, TOKEN, AWS_KEY, API_KEY, EMAIL, CARD, IP, PHONE)

_PLACEHOLDER = re.compile(r"<(" + "|".join(KINDS) + r")_(\d+)>")

#: ``scheme://user:password@`` (or ``scheme://token@``): group 1 is the credentials.
_URL_CREDS = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://([^\s/@:]+(?::[^\s/@]*)?)@(?=[^\s/@])"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_AUTH = re.compile(r"\b(?:Bearer|Basic|Token)\s+([A-Za-z0-9._~+/-]{8,}=*)", re.IGNORECASE)
_AWS_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}"
    r"(?![A-Za-z0-9])"
)
_AWS_SECRET = re.compile(
    r"(?i:aws_?secret_?access_?key|aws_?secret)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
_VENDOR_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r")"
)
#: A secret-sounding name, then ``=`` or ``:``, then the value (group 1).
_NAMED_SECRET = re.compile(
    r"(?<![A-Za-z_])(?i:password|passwd|pwd|secret|client_secret|api[_-]?key|apikey|"
    r"access[_-]?token|refresh[_-]?token|auth[_-]?token|token|private[_-]?key|x-api-key)"
    r"[\"']?\s*[:=]\s*[\"']?([^\s\"'&,;]{4,})"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
_CARD = re.compile(r"(?<![\d.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d]|[.-]\d)")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z:]|\.\d)"
)
_IPV4 = re.compile(
    r"(?<![0-9A-Za-z.])((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})"
    r"(?![0-9]|\.\d)"
)
_VERSION_REACH = 16  # characters before a dotted quad searched for a version word
_VERSION_BEFORE = re.compile(r"(?i:(?:\bv|\bversion|\bver|\brelease|\bbuild)[\s:=]*)$")
_PHONE = re.compile(
    r"(?<![\w+.:/-])(?:"
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
    r"|\(\d{3}\)\s?\d{3}[ .-]\d{4}"
    r"|\d{3}([.-])\d{3}\1\d{4}"
    r")(?![\w.:-]?\d)"
)


def luhn(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    kind: str


Finder = Callable[[str], Iterable[_Span]]


def _groups(
    pattern: re.Pattern[str], kind: str, group: int = 0, *, needles: tuple[str, ...] = ()
) -> Finder:
    """Spans of ``pattern`` (its ``group``), looked for only in a text holding one of
    ``needles`` (in the lower-cased text when every needle is lower-case letters): a cheap
    pre-check."""
    folded = all(n == n.lower() for n in needles) and any(n != n.upper() for n in needles)

    def find(text: str) -> Iterable[_Span]:
        if needles:
            haystack = text.lower() if folded else text
            if not any(n in haystack for n in needles):
                return
        for match in pattern.finditer(text):
            if match.group(group):
                yield _Span(match.start(group), match.end(group), kind)

    return find


def _cards(text: str) -> Iterable[_Span]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn(digits):
            yield _Span(match.start(), match.end(), CARD)


def _ipv6(text: str) -> Iterable[_Span]:
    for match in _IPV6.finditer(text):
        candidate = match.group().split("%", 1)[0]
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield _Span(match.start(), match.end(), IP)


def _ipv4(text: str) -> Iterable[_Span]:
    for match in _IPV4.finditer(text):
        start = match.start()
        if _VERSION_BEFORE.search(text[max(0, start - _VERSION_REACH) : start]):
            continue
        yield _Span(match.start(1), match.end(1), IP)


def _phones(text: str) -> Iterable[_Span]:
    for match in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in match.group())
        if 8 <= digits <= 15:
            yield _Span(match.start(), match.end(), PHONE)


_FINDERS: tuple[Finder, ...] = (
    _groups(_URL_CREDS, URL_CREDENTIALS, 1, needles=("://",)),
    _groups(_JWT, JWT, needles=("eyJ",)),
    _groups(_AUTH, TOKEN, 1, needles=("bearer", "basic", "token")),
    _groups(_AWS_ID, AWS_KEY),
    _groups(_AWS_SECRET, AWS_KEY, 1, needles=("aws",)),
    _groups(_VENDOR_KEY, API_KEY),
    _groups(
        _NAMED_SECRET,
        API_KEY,
        1,
        needles=("pass", "pwd", "secret", "key", "token"),
    ),
    _groups(_EMAIL, EMAIL, needles=("@",)),
    _cards,
    _ipv6,
    _ipv4,
    _phones,
)


#: Kinds whose value must never leave in part: where such a span overlaps one already taken,
#: the rest of it is masked on its own (``password=hunter2aws_secret_access_key=…``).
_SECRETS = frozenset({URL_CREDENTIALS, JWT, TOKEN, AWS_KEY, API_KEY})
#: Masking passes over a text at most (a pass finds what overlapped the previous one's spans).
_PASSES = 4


def _free(text: str, span: _Span, starts: list[int], taken: list[_Span]) -> list[tuple[int, int]]:
    """The parts of ``span`` outside the taken spans and the placeholders already in ``text``."""
    first = max(bisect.bisect_right(starts, span.start) - 1, 0)
    last = bisect.bisect_left(starts, span.end)
    cuts = [(t.start, t.end) for t in taken[first:last] if t.end > span.start]
    if "<" in text[span.start : span.end]:
        cuts.extend(m.span() for m in _PLACEHOLDER.finditer(text, span.start, span.end))
        cuts.sort()
    free: list[tuple[int, int]] = []
    at = span.start
    for start, end in cuts:
        if start > at:
            free.append((at, min(start, span.end)))
        at = max(at, end)
    if at < span.end:
        free.append((at, span.end))
    return free


def find(text: str) -> list[tuple[int, int, str]]:
    """The spans to mask in ``text`` as ``(start, end, kind)``, in order, never overlapping.

    Where two kinds overlap, the earlier one in :data:`KINDS` wins; a secret's parts outside
    the winner are masked too (as that secret's kind), any other kind's span is dropped. Text
    already masked (a placeholder) is never masked again."""
    starts: list[int] = []  # the taken spans, sorted and disjoint
    taken: list[_Span] = []
    for finder in _FINDERS:
        for span in finder(text):
            free = _free(text, span, starts, taken)
            if free != [(span.start, span.end)]:
                if span.kind not in _SECRETS:
                    continue
                free = [(a, b) for a, b in free if any(c.isalnum() for c in text[a:b])]
            for start, end in free:
                i = bisect.bisect_right(starts, start)
                starts.insert(i, start)
                taken.insert(i, _Span(start, end, span.kind))
    return [(s.start, s.end, s.kind) for s in taken]


@dataclass
class Masker:
    """Masks the texts of one batch with consistent placeholders, and reverses them."""

    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _by_placeholder: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def mask(self, text: str) -> str:
        """``text`` with every value found made a placeholder. A value dropped because it
        overlapped another kind's is looked for again in what is left (``+44 20 7946 1.2.3.4``:
        the phone number once the address is masked), until nothing more is found."""
        for _ in range(_PASSES):
            spans = find(text)
            if not spans:
                break
            text = self._replace(text, spans)
        return text

    def _replace(self, text: str, spans: list[tuple[int, int, str]]) -> str:
        out: list[str] = []
        last = 0
        for start, end, kind in spans:
            out.append(text[last:start])
            out.append(self._placeholder(kind, text[start:end]))
            last = end
        out.append(text[last:])
        return "".join(out)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        known = self._by_value.get(key)
        if known is not None:
            return known
        number = self._counts.get(kind, 0) + 1
        self._counts[kind] = number
        placeholder = f"<{kind}_{number}>"
        self._by_value[key] = placeholder
        self._by_placeholder[placeholder] = value
        return placeholder

    def unmask(self, text: str) -> str:
        """``text`` with every placeholder this masker gave out replaced by its value
        (placeholders it never gave out stay as written)."""
        if "<" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(), m.group()), text)

    @property
    def masked(self) -> dict[str, int]:
        """How many distinct values of each kind were masked."""
        return dict(self._counts)
