"""Variable masking: the one regular-expression pass every line goes through.

A line is masked before it is clustered: spans that are variables by their shape alone become
``<*>``: dates written with month names, booleans and null, and *atoms* (runs of word, dot,
colon, slash and similar characters that carry a number). Dates may span several words and are
replaced on the whole line (only when it names a month); everything else is decided per
whitespace token, through a bounded cache shared by every miner (masking is a pure function, and
most tokens of a log stream repeat), so the common token costs one dictionary lookup.

What counts as a number-carrying atom:

* a digit run that does not continue a word (``42``, ``-1``, ``0x1f``, ``blk_-123``,
  ``10.0.0.1:8080``, ``/tmp/a-7``, ``v6.1.7601``), while ``ssh2``, ``awdl0`` or ``utf8``
  (a word with a digit glued to it) stay words;
* three digits or more anywhere (``de9231d``, ``jA9J1UvC004306``, hex digests).

An atom extends over the characters ``\\w . : / \\ @ + # ~ % -`` around it and is cut before
trailing punctuation (``(uid=0),`` masks to ``(uid=<*>),``). A leading ``name:`` (letters then a
colon, not ``scheme://``) is kept: ``onExtend:1514038530000`` masks to ``onExtend:<*>``. An
``=`` is never part of an atom, so ``key=value`` keeps its key.
"""

from __future__ import annotations

import re

WILDCARD = "<*>"

_DAYS = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"

# A date written with names (``Fri Jun 17 07:07:00 2005``, ``Jun 17 07:07:00``): one variable,
# although it spans several whitespace tokens.
_NAMED_DATE = (
    rf"(?:{_DAYS},?\s+)?{_MONTHS}\s+\d{{1,2}},?\s+{_CLOCK}(?:\s+[A-Z]{{3,4}})?(?:\s+\d{{4}})?"
)

# Characters an atom may contain: a run of dots or hashes is a separator (``dcbf.......0``,
# ``12##34``), and so is a colon before a word (``10.0.0.1:50010:Got``; ports, times, MACs and
# IPv6 go on).
_SIMPLE = r"[\w/\\@+~%-]"
_SPECIAL = r"(?:\.(?!\.)|#(?!#)|:(?=[0-9A-Fa-f/:]))"
_ATOM = rf"(?:{_SIMPLE}|{_SPECIAL})"
# The character before an atom: start of line, whitespace or an opening/separating punctuation
# (a dot too: ``core.2275`` keeps ``core.``, when the atom from the token's start fails).
_LEFT = r"""(?<![^\s(\[{<"'=,|;.#])"""
# A kept ``name:`` prefix: letters then a colon (an atom may start right after it).
_AFTER_NAME = r"(?<=[A-Za-z]:)"
# An atom carries a number: a digit run not glued to a word, or three digits anywhere.
_HAS_NUMBER = rf"(?=(?:{_SIMPLE}*{_SPECIAL})*?{_SIMPLE}*?(?:(?<![A-Za-z\d])\d|\d{{3}}))"
# An atom does not start with a kept ``name:`` prefix (unless it is ``scheme://``): a word, or
# a source file before its line number (``ib_sm_sweep.c:1831``).
_SOURCE = r"[\w-]+\.(?:c|cc|cpp|cxx|h|hh|hpp|java|kt|scala|py|go|rs|js|ts|rb|m|mm|swift|cs|php)"
_NOT_NAME = rf"(?!(?:[A-Za-z_][A-Za-z_-]*|{_SOURCE}):(?!//))"
# An atom ends on a word character or a slash (trailing ``.``, ``:``, ``,`` stay outside).
_BODY = rf"{_SIMPLE}*(?:{_SPECIAL}{_SIMPLE}*)*(?<=[\w/\\])"
# What may follow an atom: end, whitespace, closing punctuation or a separator.
_RIGHT = r"""(?![^\s)\]}>"',;:.=|&#(\[])"""

# ``core.2275``, ``jetty-6.1.26``: a word, a dot or dash and a number (or version) keep the
# word (the atom starts after the dot or dash).
_NOT_NUMBERED = rf"(?![A-Za-z_]*[A-Za-z][.-]\d[\d.]*(?<=\d)(?!{_ATOM}))"
_AFTER_WORD_DASH = r"(?<=[A-Za-z]-)"
# ``[2017-07-03,23:54:38]-CCIOReporter-002.xml``: a name after a closing bracket and a dash.
_AFTER_CLOSE = r"(?<=[)\]}]-)"
_ATOM_RE = (
    rf"(?:{_LEFT}|{_AFTER_NAME}|{_AFTER_CLOSE}|{_AFTER_WORD_DASH})(?![.#])"
    rf"{_NOT_NAME}{_NOT_NUMBERED}{_HAS_NUMBER}{_BODY}{_RIGHT}"
)
# Paths and URLs are values whatever they hold: ``/var/www/html/``, ``C:\Windows\x.dll``,
# ``/default-rack``, ``hdfs://host:9000/a`` (a lone ``/`` is not a path).
_STOP = r"""\s"'()\[\]{}<>,;|"""
_PATH_RE = (
    rf"{_LEFT}(?:[A-Za-z][\w+.-]*://[^{_STOP}]+|(?:~|\.\.?)?/[^{_STOP}]+"
    rf"|[A-Za-z]:\\[^{_STOP}]+)(?<![:,]){_RIGHT}"
)
_MAC_RE = rf"{_LEFT}(?:[0-9A-Fa-f]{{2}}[:-]){{5}}[0-9A-Fa-f]{{2}}(?![\w:-])"
_BOOL_RE = r"(?<![\w.-])(?:true|false|True|False|TRUE|FALSE|null|NULL|None)(?![\w-])"

_DATE = re.compile(_NAMED_DATE)
_MONTH_NAMES = frozenset(_MONTHS[3:-1].split("|"))
_TOKEN = re.compile(f"{_BOOL_RE}|{_PATH_RE}|{_MAC_RE}|{_ATOM_RE}")
_MAYBE = re.compile(r"[\d/\\]|true|false|null|none", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_NONSPACE = re.compile(r"\S+")
ZEROS = bytes.maketrans(b"123456789", b"000000000")

CACHE_SIZE = 1 << 18
TEXTS_SIZE = 1 << 16  # entries of the caches of masked texts (a message: longer than a token)
_KEEP = ()  # a shape without variables: the token stays as it is
_WHOLE = ((0, -1),)  # a shape that is one variable: the token becomes <*>
_tokens: dict[str, str] = {}  # token -> masked token
_shapes: dict[bytes, tuple[tuple[int, int], ...]] = {}  # shape(token) -> spans to mask
# shape(text) -> its masked form, or where in it the digits are that masking keeps (then
# ``_kept`` has the masked form by those digits), or None: the text names a month
_texts: dict[bytes, str | tuple[int, ...] | None] = {}
_kept: dict[tuple[bytes, str], str] = {}
_parts: dict[bytes, tuple[tuple[int, int], ...]] = {}  # shape(part between quotes) -> spans
_UNKNOWN = object()


def shape(text: str) -> bytes:
    """``text`` with every digit made ``0`` (as UTF-8): what masking decisions depend on."""
    return text.encode("utf-8", "surrogatepass").translate(ZEROS)


def mask(line: str) -> str:
    """The line's tokens, each variable part made ``<*>``, joined by single spaces."""
    tokens = line.split()
    if not _MONTH_NAMES.isdisjoint(tokens):
        tokens = _DATE.sub(WILDCARD, line).split()
    masked = list(map(_tokens.get, tokens))  # no Python work per known token
    if None in masked:
        masked = [m or _learn(t) for m, t in zip(masked, tokens, strict=True)]
    return " ".join(masked)  # type: ignore[arg-type]


def mask_shaped(line: str, end: int, form: bytes) -> str | None:
    """``mask(line[:end])``, looked up by ``form``, its shape (and the digits masking keeps);
    None when that text names a month (a date is masked across tokens: what follows the
    text may belong to it). Masking decides by shape alone, so the text of a message with
    ever new ids and counters is masked once per shape."""
    entry = _texts.get(form, _UNKNOWN)
    if isinstance(entry, str):
        return entry
    text = line[:end]
    if isinstance(entry, tuple):
        key = (form, "".join([text[i] for i in entry]))
        masked = _kept.get(key)
        if masked is None:
            if len(_kept) >= TEXTS_SIZE:
                _kept.clear()
            masked = _kept[key] = mask(text)
        return masked
    if entry is None:
        return None
    if len(_texts) >= TEXTS_SIZE:
        _texts.clear()
    tokens = text.split()
    if not _MONTH_NAMES.isdisjoint(tokens):
        _texts[form] = None
        return None
    masked = " ".join([_tokens.get(t) or _learn(t) for t in tokens])
    if _DIGIT.search(masked) is None:
        _texts[form] = masked
        return masked
    kept = _texts[form] = kept_digits(text, masked) or ()
    if len(_kept) >= TEXTS_SIZE:
        _kept.clear()
    _kept[(form, "".join([text[i] for i in kept]))] = masked
    return masked


def mask_cached(token: str) -> str:
    """``mask_token`` through the cache ``mask`` uses."""
    return _tokens.get(token) or _learn(token)


def _learn(token: str) -> str:
    """``mask_token``, remembered (a masked token is never empty, so ``or`` finds a miss)."""
    if len(_tokens) >= CACHE_SIZE:
        _tokens.clear()
    masked = _tokens[token] = mask_token(token)
    return masked


def kept_digits(line: str, masked: str) -> tuple[int, ...] | None:
    """Where in ``line`` the digits are that ``mask`` keeps (``ssh2``), or None for a line
    whose masking does not follow its shape alone (a named date: it spans tokens).
    ``masked``: ``mask(line)``, whose tokens are the line's, one space apart."""
    tokens = line.split()
    if not _MONTH_NAMES.isdisjoint(tokens):
        return None
    # the tokens whose masked form holds a digit, by their index among the line's tokens
    holders = sorted({masked.count(" ", 0, d.start()) for d in _DIGIT.finditer(masked)})
    kept: list[int] = []
    want = iter(holders)
    index = next(want, None)
    for k, match in enumerate(_NONSPACE.finditer(line)):
        if index is None:
            break
        if k != index:
            continue
        index = next(want, None)
        token = match.group()
        key = shape(token)
        spans = _shapes.get(key)
        if spans is None:  # the shape cache was emptied meanwhile
            mask_token(token)
            spans = _shapes[key]
        base = match.start()
        for digit in _DIGIT.finditer(token):
            i = digit.start()
            if spans is _KEEP or not any(start <= i < end for start, end in spans):
                kept.append(base + i)
    return tuple(kept)


def mask_token(token: str) -> str:
    """One whitespace-free token with its variable parts made ``<*>``.

    The pattern treats every digit alike, so where it matches depends only on the token's
    *shape* (digits made ``0``): the spans are cached by shape, and ids, addresses and counters
    that differ only in their digits cost one translation and one lookup.
    """
    if token.isdecimal() or _HEX.fullmatch(token):  # a number or 0x-hex alone: one value
        return WILDCARD
    key = shape(token)
    spans = _shapes.get(key)
    if spans is None:
        if len(_shapes) >= CACHE_SIZE:
            _shapes.clear()
        # a word (no digit, path or boolean in it) needs no pattern
        spans = _KEEP if _MAYBE.search(token) is None else _spans(token)
        if not spans:
            spans = _KEEP
        elif spans == ((0, len(token)),):
            spans = _WHOLE
        _shapes[key] = spans
    if spans is _KEEP:
        return token
    if spans is _WHOLE:
        return WILDCARD
    parts = []
    done = 0
    for start, end in spans:
        parts.append(token[done:start])
        parts.append(WILDCARD)
        done = end
    parts.append(token[done:])
    return "".join(parts)


# A word or ``key=word`` holding a digit, letters, digits and ``_`` only: an atom takes the
# whole word when a digit starts it (or follows ``_``) or three digits stand in a row (what
# ``_TOKEN`` decides for such a token, at a fraction of its cost; a test compares the two).
_SIMPLE_VALUE = re.compile(r"(?:[A-Za-z_]+=)?([A-Za-z_]*\d\w*)", re.ASCII)
_NUMBER_IN_WORD = re.compile(r"(?<![A-Za-z\d])\d|\d{3}", re.ASCII)
_OPEN = "([{<\"'"
_CLOSE = ")]}>\"',;"


def _spans(token: str) -> tuple[tuple[int, int], ...]:
    """Where ``_TOKEN`` matches in ``token``.

    The common token is one value, maybe in brackets or with a comma after it: one anchored
    match of its core says so (no character of ``_OPEN``/``_CLOSE`` can start or continue a
    match, so this is what a scan of the whole token finds), else the token is scanned.
    """
    start = len(token) - len(token.lstrip(_OPEN))
    end = len(token.rstrip(_CLOSE))
    simple = _SIMPLE_VALUE.fullmatch(token, start, end)
    if simple is not None:  # ``8f3ab2c1``, ``request_id=8f3ab2c1``: no pattern needed
        value = simple.start(1)
        return ((value, end),) if _NUMBER_IN_WORD.search(token, value, end) else ()
    if end > start:
        m = _TOKEN.match(token, start, end)
        if m is not None and m.end() == end:
            return ((start, end),)
    if '"' in token:
        return _quoted_spans(token)
    return tuple(m.span() for m in _TOKEN.finditer(token))


def _quoted_spans(token: str) -> tuple[tuple[int, int], ...]:
    """``_spans`` of a token with quotes (a JSON object without spaces): no match holds a
    ``"`` and none looks past one (to every pattern it is a boundary, like the token's ends),
    so the spans are those of the parts between quotes, each found once per shape."""
    spans: list[tuple[int, int]] = []
    at = 0
    for part in token.split('"'):
        if part:
            key = shape(part)
            found = _parts.get(key)
            if found is None:
                if len(_parts) >= CACHE_SIZE:
                    _parts.clear()
                found = _parts[key] = _spans(part)
            spans.extend([(at + start, at + end) for start, end in found])
        at += len(part) + 1
    return tuple(spans)


def clear_cache() -> None:
    """Forget the masked tokens and shapes (a benchmark measures a cold start with it)."""
    _tokens.clear()
    _shapes.clear()
    _texts.clear()
    _kept.clear()
    _parts.clear()
