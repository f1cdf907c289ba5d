"""Masking: which spans of a line are variables by their shape alone."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdeck.logintel.mining import masking
from agentdeck.logintel.mining.masking import mask


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        # numbers, ids, addresses
        ("PacketResponder 1 for block blk_-1608999687919862906 terminating",
         "PacketResponder <*> for block <*> terminating"),
        ("Receiving block blk_58 src: /10.251.30.6:33145 dest: /10.251.30.6:50010",
         "Receiving block <*> src: <*> dest: <*>"),
        ("10.251.30.85:50010:Got exception while serving blk_7 to /10.251.90.64:",
         "<*>:Got exception while serving <*> to <*>:"),
        ("mask 0x0b85eee0, sessionid 0x14ed93111f20005", "mask <*>, sessionid <*>"),
        ("took 17.7 s, delta -24.0", "took <*> s, delta <*>"),
        ("instance b9000564-fe1a-409b-b8cc-1e88b294cd1d ready",
         "instance <*> ready"),
        ("mac FF:F2:9C:00:0F:02 up", "mac <*> up"),
        # key=value, brackets and punctuation stay around the value
        ("session opened for user cyrus by (uid=0)", "session opened for user cyrus by (uid=<*>)"),
        ("acquire lock=233570404, flags=0x1, ws=null, uid=10037",
         "acquire lock=<*>, flags=<*>, ws=<*>, uid=<*>"),
        ("ALERT exited abnormally with [1]", "ALERT exited abnormally with [<*>]"),
        ("Rect(0, 0 - 720, 1280)", "Rect(<*>, <*> - <*>, <*>)"),
        ("onExtend:1514038530000 14 0 4", "onExtend:<*> <*> <*> <*>"),
        ("[ib_sm_sweep.c:1831]: NEW SWEEP", "[ib_sm_sweep.c:<*>]: NEW SWEEP"),
        ("generating core.2275", "generating core.<*>"),
        ("steps 1514038440000##6993##548365", "steps <*>##<*>##<*>"),
        ("caused by dcbf.........0", "caused by dcbf.........<*>"),
        # paths and URLs are values, whatever they hold
        ("workerEnv.init() ok /etc/httpd/conf/workers2.properties", "workerEnv.init() ok <*>"),
        ("Default file system [hdfs://msra-sa-41:9000]", "Default file system [<*>]"),
        ("Resolved host to /default-rack", "Resolved host to <*>"),
        ("Core: C:\\Windows\\winsxs\\cbscore.dll", "Core: <*>"),
        # dates with names, booleans
        ("connection at Fri Jun 17 07:07:00 2005", "connection at <*>"),
        ("changed at Sat Jun 18 04:07:27 PDT 2005 now", "changed at <*> now"),
        ("isScreenOn true, visible False", "isScreenOn <*>, visible <*>"),
        # words with a digit glued to them stay words
        ("Failed password for root from 5.36.59.76 port 42393 ssh2",
         "Failed password for root from <*> port <*> ssh2"),
        ("loaded properties from hadoop-metrics2.properties",
         "loaded properties from hadoop-metrics2.properties"),
        ("interface awdl0 is up, IPV4", "interface awdl0 is up, IPV4"),
        # whitespace is normalised to one space
        ("  clusterAddMember  (command 1902) ", "clusterAddMember (command <*>)"),
        ("", ""),
    ],
)  # fmt: skip
def test_typical_lines(line: str, masked: str) -> None:
    assert mask(line) == masked


def test_the_same_token_twice_costs_one_pattern_run() -> None:
    masking.clear_cache()
    assert mask("a blk_123 b") == "a <*> b"
    assert "blk_123" in masking._tokens
    # a token of the same shape (other digits) is decided by the shape cache
    assert masking.mask_token("blk_456") == "<*>"
    assert len(masking._shapes) == 3  # "a", "blk_000", "b"


_ALPHABET = st.sampled_from(list("ab0129.:/-_=,()[]\"'#xX@"))


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=24))
def test_the_anchored_shortcut_finds_what_a_full_scan_finds(token: str) -> None:
    full = tuple(m.span() for m in masking._TOKEN.finditer(token))
    assert masking._spans(token) == full


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=24), st.text("0123456789", min_size=1))
def test_masking_depends_on_the_shape_only(token: str, digits: str) -> None:
    """The patterns treat every digit alike, so caching by shape (digits made 0) is exact."""
    other = "".join(digits[i % len(digits)] if c.isdigit() else c for i, c in enumerate(token))
    assert masking.shape(token) == masking.shape(other)
    assert (masking._MAYBE.search(token) is None) == (masking._MAYBE.search(other) is None)
    assert masking._spans(token) == masking._spans(other)
    masking.clear_cache()
    masked = masking.mask_token(other)
    masking.clear_cache()
    masking.mask_token(token)  # the shape's spans now come from ``token``
    assert masking.mask_token(other) == masked


def test_simple_words_are_masked_as_the_full_pattern_would() -> None:
    """``key=word`` and plain words of letters, digits and ``_`` skip the big pattern: the
    spans they get are those the pattern finds (random tokens of that form, in brackets,
    quotes or with a trailing comma too)."""

    def by_pattern(token: str) -> tuple[tuple[int, int], ...]:
        start = len(token) - len(token.lstrip(masking._OPEN))
        end = len(token.rstrip(masking._CLOSE))
        if end > start:
            m = masking._TOKEN.match(token, start, end)
            if m is not None and m.end() == end:
                return ((start, end),)
        return tuple(m.span() for m in masking._TOKEN.finditer(token))

    rnd = random.Random(1)
    alphabet = "abcdefxyzABCFXZ_0123456789"
    for _ in range(20_000):
        word = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 10)))
        key = rnd.choice(["", "", "request_id=", "span=", "a=", "_k="])
        token = rnd.choice(["", "", "(", '"', "["]) + key + word
        token += rnd.choice(["", "", ")", ",", '"', ";", "),"])
        assert masking._spans(token) == by_pattern(token), token


def test_tokens_with_quotes_are_masked_as_the_full_pattern_would() -> None:
    """A token holding quotes (JSON without spaces) is masked part by part between its quotes:
    the spans are those one scan of the whole token finds."""
    rnd = random.Random(2)
    alphabet = 'ab0129.:/-_=,()[]"{}#xX@ef'
    for _ in range(5_000):
        token = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
        full = tuple(m.span() for m in masking._TOKEN.finditer(token))
        assert masking._spans(token) == full, token
    token = '"tool":"web_search","args_bytes":1234,"step":3,"run_id":"e0857972"}'
    masked = '"tool":"web_search","args_bytes"<*>,"step"<*>,"run_id":"<*>"}'
    assert masking.mask_token(token) == masked
