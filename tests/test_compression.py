"""One bounded decompressor for every ingest path: each encoding, bombs, corrupt bodies."""

from __future__ import annotations

import gzip
import zlib

import cramjam
import pytest
import zstandard

from agentdeck.compression import decompress
from agentdeck.errors import Malformed, TooLarge, UnsupportedMediaType

BODY = b'{"entries": [' + b'{"message": "hello"},' * 200 + b"{}]}"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("snappy", lambda b: bytes(cramjam.snappy.compress_raw(b))),
        (" GZIP ", gzip.compress),
    ],
)
def test_every_encoding_round_trips(encoding, encode) -> None:
    assert decompress(encode(BODY), encoding, limit=len(BODY)) == BODY


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("snappy", lambda b: bytes(cramjam.snappy.compress_raw(b))),
    ],
)
def test_one_byte_over_the_limit_is_too_large(encoding, encode) -> None:
    with pytest.raises(TooLarge):
        decompress(encode(BODY), encoding, limit=len(BODY) - 1)


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))
    with pytest.raises(TooLarge):
        decompress(bomb, "gzip", limit=1 << 20)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "snappy"])
def test_a_corrupt_body_is_malformed(encoding) -> None:
    with pytest.raises(Malformed) as caught:
        decompress(b"\x00definitely not compressed\xff" * 3, encoding, limit=1 << 20)
    assert caught.value.kind == "malformed-body"


def test_a_truncated_gzip_body_is_malformed() -> None:
    with pytest.raises(Malformed, match="truncated"):
        decompress(gzip.compress(BODY)[:-12], "gzip", limit=1 << 20)


def test_an_unknown_encoding_names_the_ones_it_reads() -> None:
    with pytest.raises(UnsupportedMediaType, match="zstd"):
        decompress(BODY, "br", limit=1 << 20)
