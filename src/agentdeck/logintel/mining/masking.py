"""Variable masking: the one regular-expression pass every line goes through.

A line is masked before it is clustered: spans that are variables by their shape alone become
``<*>``. The pass is a single compiled alternation (dates and times, booleans and null, and
*atoms*: runs of word, dot, colon, slash and similar characters that carry a number), so it runs
in C; the miner then works on whitespace tokens of the masked line.

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
_NAMED_DATE = rf"(?:{_DAYS},?\s+)?{_MONTHS}\s+\d{{1,2}},?\s+{_CLOCK}(?:\s+\d{{4}})?"

# Characters an atom may contain.
_ATOM = r"[\w.:/\\@+#~%-]"
# The character before an atom: start of line, whitespace or an opening/separating punctuation.
_LEFT = r"""(?<![^\s(\[{<"'=,|;])"""
# A kept ``name:`` prefix: letters then a colon (an atom may start right after it).
_AFTER_NAME = r"(?<=[A-Za-z]:)"
# An atom carries a number: a digit run not glued to a word, or three digits anywhere.
_HAS_NUMBER = rf"(?={_ATOM}*?(?:(?<![A-Za-z\d])\d|\d{{3}}))"
# An atom does not start with a kept ``name:`` prefix (unless it is ``scheme://``).
_NOT_NAME = r"(?![A-Za-z_]+:(?!//))"
# An atom ends on a word character or a slash (trailing ``.``, ``:``, ``,`` stay outside).
_BODY = rf"{_ATOM}*[\w/\\]"
# What may follow an atom: end, whitespace, closing punctuation or a separator.
_RIGHT = r"""(?![^\s)\]}>"',;:.=|&])"""

_ATOM_RE = rf"(?:{_LEFT}|{_AFTER_NAME}){_NOT_NAME}{_HAS_NUMBER}{_BODY}{_RIGHT}"
_BOOL_RE = r"(?<![\w.-])(?:true|false|True|False|TRUE|FALSE|null|NULL|None)(?![\w-])"

MASK = re.compile(f"{_NAMED_DATE}|{_BOOL_RE}|{_ATOM_RE}")


def mask(line: str) -> str:
    """The line with every shape-detected variable replaced by ``<*>`` (whitespace kept)."""
    return MASK.sub(WILDCARD, line)
