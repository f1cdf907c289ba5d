"""PII masking: a corpus of values that must be masked and look-alikes that must stay, the
placeholders' consistency within a batch, and the round trip back for the UI."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdeck.logintel.llm.pii import Masker, luhn

POSITIVES = [
    # (line, masked line)
    ("login failed for alice.smith+tag@example.co.uk", "login failed for <EMAIL_1>"),
    ("from 203.0.113.9 port 22", "from <IP_1> port 22"),
    ("peer 10.0.0.1:5432 reset", "peer <IP_1>:5432 reset"),
    ("peer 2001:db8::8a2e:370:7334 reset", "peer <IP_1> reset"),
    ("loopback ::1 and fe80::1%eth0 up", "loopback <IP_1> and <IP_2> up"),
    ("mapped ::ffff:192.0.2.128 ok", "mapped <IP_1> ok"),
    ("addr 1.2.3.4 refused", "addr <IP_1> refused"),
    ("call +1 (555) 123-4567 now", "call <PHONE_1> now"),
    ("call +44 20 7946 0958", "call <PHONE_1>"),
    ("support (555) 123-4567 or 555-123-4567", "support <PHONE_1> or <PHONE_2>"),
    ("card 4111 1111 1111 1111 declined", "card <CARD_1> declined"),
    ("card=5500-0000-0000-0004", "card=<CARD_1>"),
    ("amex 378282246310005 ok", "amex <CARD_1> ok"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt <JWT_1>",
    ),
    ("Authorization: Bearer abcDEF123456ghiJKL789.xyz", "Authorization: Bearer <TOKEN_1>"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <TOKEN_1>"),
    ("key AKIAIOSFODNN7EXAMPLE used", "key <AWS_KEY_1> used"),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key=<AWS_KEY_1>",
    ),
    ("openai sk-proj-abcdefghijklmnopqrstuvwx1234 rejected", "openai <API_KEY_1> rejected"),
    ("github ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "github <API_KEY_1> ok"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe <API_KEY_1>"),
    ("slack xoxb-123456789012-abcdefABCDEF", "slack <API_KEY_1>"),
    ("password=s3cr3t! user=bob", "password=<API_KEY_1> user=bob"),
    ("id=42password=hunter22", "id=42password=<API_KEY_1>"),  # glued to a number
    ('{"api_key": "zz9_abcdef0123"}', '{"api_key": "<API_KEY_1>"}'),
    ("client_secret: q8w7e6r5t4 sent", "client_secret: <API_KEY_1> sent"),
    (
        "connect postgres://admin:hunter2@db.internal:5432/app refused",
        "connect postgres://<URL_CREDENTIALS_1>@db.internal:5432/app refused",
    ),
    ("GET https://tok123@api.example.com/x", "GET https://<URL_CREDENTIALS_1>@api.example.com/x"),
]

NEGATIVES = [
    "release 1.2.3 deployed",
    "agent v1.2.3.4 started",
    "version 10.0.19041.1 installed",
    "2024-01-15T10:30:45.123Z request took 1234 ms",
    "2024-01-15 10:30:45,123 INFO ok",
    "Jun 17 07:07:00 combo sshd[1234]: session opened",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "md5 d41d8cd98f00b204e9800998ecf8427e",
    "request 550e8400-e29b-41d4-a716-446655440000 done",
    "ts=1700000000123456789 ns",
    "epoch_ms=1700000000123",
    "mac 00:1a:2b:3c:4d:5e up",
    "at 10:30:45 uptime 12:00 duration 00:01:02.345",
    "order 4111111111111112 rejected",  # fails Luhn
    "std::vector<int> Foo::Bar",
    "listening on port 8080",
    "tokens=1234 prompt_tokens: 56",
    "count 1234567890 items",
    "block blk_-1608999687919862906 received",
    "user@localhost logged in",
    "HTTP/1.1 200 OK",
    "id 1234-5678-9012",
    "date 2024.01.15 build 20240115.1",
    "GET https://api.example.com/v1/users?page=2",
]


@pytest.mark.parametrize(("line", "masked"), POSITIVES)
def test_positives_are_masked(line: str, masked: str) -> None:
    masker = Masker()
    assert masker.mask(line) == masked
    assert masker.unmask(masked) == line


@pytest.mark.parametrize("line", NEGATIVES)
def test_look_alikes_stay(line: str) -> None:
    assert Masker().mask(line) == line


def test_a_dotted_quad_without_version_context_counts_as_an_address() -> None:
    # the documented choice: privacy first, a bare dotted quad is masked
    assert Masker().mask("0.0.0.0/0 route") == "<IP_1>/0 route"


def test_placeholders_are_consistent_within_a_batch_and_numbered_per_kind() -> None:
    masker = Masker()
    first = masker.mask("bob@example.com from 10.1.2.3")
    second = masker.mask("carol@example.com from 10.1.2.3, again bob@example.com")
    assert first == "<EMAIL_1> from <IP_1>"
    assert second == "<EMAIL_2> from <IP_1>, again <EMAIL_1>"
    assert masker.masked == {"EMAIL": 2, "IP": 1}
    # a new batch starts over
    assert Masker().mask("carol@example.com") == "<EMAIL_1>"


def test_unmask_restores_only_placeholders_it_gave_out() -> None:
    masker = Masker()
    masker.mask("from 10.1.2.3")
    text = "Block <IP_1>; <IP_7> and <EMAIL_1> are unknown; <*> stays"
    assert masker.unmask(text) == "Block 10.1.2.3; <IP_7> and <EMAIL_1> are unknown; <*> stays"


def test_luhn() -> None:
    assert luhn("4111111111111111")
    assert luhn("378282246310005")
    assert not luhn("4111111111111112")


ALPHABET = "abcdefxyzABCEF0123456789 .:@-+/=_()%"


@given(st.lists(st.sampled_from([*ALPHABET, *(line for line, _ in POSITIVES)]), max_size=30))
@settings(max_examples=500, deadline=None)
def test_unmask_of_mask_is_the_text(parts: list[str]) -> None:
    text = "".join(parts)
    masker = Masker()
    masked = masker.mask(text)
    assert masker.unmask(masked) == text
    assert masker.mask(masked) == masked  # placeholders are never masked again


def test_long_lines() -> None:
    # a line at the store's size limit, with thousands of values (the cost is in bench/)
    text = " ".join(f"10.0.{i % 250}.{i % 200}" for i in range(5000))
    masker = Masker()
    masked = masker.mask(text)
    assert masked.split(" ")[:2] == ["<IP_1>", "<IP_2>"]
    assert set(masked.split(" ")) == {f"<IP_{n}>" for n in range(1, masker.masked["IP"] + 1)}
    for text in ("a." * 32_000, "ab:" * 21_000, "4111 " * 12_000, "a@" * 32_000):
        assert Masker().mask(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a named secret's value runs into an AWS secret: no part of either leaves
        (
            "password=hunter22aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "password=<API_KEY_1><AWS_KEY_1>",
        ),
        # a phone number that ran into an address is masked once the address is
        ("call +44 20 7946 1.2.3.4", "call <PHONE_1> <IP_1>"),
    ],
)
def test_overlapping_values_are_all_masked(text: str, masked: str) -> None:
    masker = Masker()
    assert masker.mask(text) == masked
    assert masker.unmask(masked) == text
    assert masker.mask(masked) == masked
